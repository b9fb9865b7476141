{{/*
Names, labels and the one container definition both modes share.

The container ("netpol-syncer.container") and its volumes ("netpol-syncer.volumes") are defined
once: the standalone Deployment embeds them, and in sidecar mode the same text is rendered into
ConfigMap <fullname>-sidecar as the block for the vCluster chart's values, so what the chart
deploys and what users paste into vcluster.yaml cannot drift apart.
*/}}

{{/* The vCluster name (its "suffix"): vcluster.name, else this release's name. */}}
{{- define "netpol-syncer.vclusterName" -}}
{{- default .Release.Name .Values.vcluster.name -}}
{{- end -}}

{{- define "netpol-syncer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object names: <vcluster>-netpol-syncer, unique per vCluster in a namespace. */}}
{{- define "netpol-syncer.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" (include "netpol-syncer.vclusterName" .) (include "netpol-syncer.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "netpol-syncer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "netpol-syncer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netpol-syncer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "netpol-syncer.labels" -}}
helm.sh/chart: {{ include "netpol-syncer.chart" . }}
{{ include "netpol-syncer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
app.kubernetes.io/part-of: {{ include "netpol-syncer.vclusterName" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "netpol-syncer.configName" -}}
{{- include "netpol-syncer.fullname" . -}}
{{- end -}}

{{/* The kubeconfig Secret: by default the dedicated one vCluster exports for this syncer
(exportKubeConfig.additionalSecrets), never vc-<name>, which follows the user's own settings. */}}
{{- define "netpol-syncer.kubeconfigSecretName" -}}
{{- default (printf "vc-%s-netpol-syncer" (include "netpol-syncer.vclusterName" .)) .Values.vcluster.kubeconfigSecret.name -}}
{{- end -}}

{{- define "netpol-syncer.leaseName" -}}
{{- default (printf "%s-netpol-syncer" (include "netpol-syncer.vclusterName" .)) .Values.leaderElection.leaseName -}}
{{- end -}}

{{/* The service account the syncer's pods run as: the vCluster's own one in sidecar mode. */}}
{{- define "netpol-syncer.serviceAccountName" -}}
{{- if eq .Values.mode "sidecar" -}}
{{- default (printf "vc-%s" (include "netpol-syncer.vclusterName" .)) .Values.vcluster.serviceAccountName -}}
{{- else -}}
{{- default (include "netpol-syncer.fullname" .) .Values.standalone.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* How many syncers run at once: the Deployment's replicas, or one per vCluster replica. */}}
{{- define "netpol-syncer.replicas" -}}
{{- if eq .Values.mode "sidecar" -}}
{{- .Values.vcluster.replicas | int -}}
{{- else -}}
{{- .Values.standalone.replicas | int -}}
{{- end -}}
{{- end -}}

{{/* "true" when leader election is on, else "". "auto" turns it on in standalone mode (a
rolling update runs the new pod beside the old one, and only the lease fences them) and with
more than one replica; "false" with more than one replica would run unfenced writers. */}}
{{- define "netpol-syncer.leaderElect" -}}
{{- $enabled := .Values.leaderElection.enabled -}}
{{- $replicas := include "netpol-syncer.replicas" . | int -}}
{{- if kindIs "bool" $enabled -}}
{{- if $enabled }}true{{ else if gt $replicas 1 -}}
{{- fail (printf "leaderElection.enabled=false with %d replicas: every replica would write; keep it on (auto) or run one replica" $replicas) -}}
{{- end -}}
{{- else if or (eq .Values.mode "standalone") (gt $replicas 1) -}}
true
{{- end -}}
{{- end -}}

{{- define "netpol-syncer.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Pod labels of the vCluster control plane (sidecar mode's metrics Service selects them). */}}
{{- define "netpol-syncer.vclusterPodLabels" -}}
{{- if .Values.vcluster.podLabels -}}
{{- toYaml .Values.vcluster.podLabels -}}
{{- else -}}
app: vcluster
release: {{ include "netpol-syncer.vclusterName" . | quote }}
{{- end -}}
{{- end -}}

{{/* Paths inside the container; volume names carry a prefix so they cannot collide with the
vCluster pod's own volumes (data, tmp, certs, vcluster-config, ...). The config goes where the
syncer looks by default (--config is not passed): a missing file there means the defaults (sync
on, no patches), logged at start, so an absent ConfigMap never stops the container. Mounts are
per container: vCluster's own container keeps its vcluster.yaml at the same path. */}}
{{- define "netpol-syncer.configDir" -}}/var/lib/vcluster{{- end -}}
{{- define "netpol-syncer.kubeconfigDir" -}}/etc/netpol-syncer/virtual{{- end -}}

{{/* The arguments of `netpol-syncer run`. */}}
{{- define "netpol-syncer.args" -}}
- run
- --name={{ include "netpol-syncer.vclusterName" . }}
- --virtual-kubeconfig={{ include "netpol-syncer.kubeconfigDir" . }}/{{ .Values.vcluster.kubeconfigSecret.key }}
- --metrics-address=:{{ .Values.metrics.port }}
- --workers={{ .Values.controller.workers }}
- --resync-period={{ .Values.controller.resyncPeriod }}
- --log-format={{ .Values.controller.logFormat }}
- --log-level={{ .Values.controller.logLevel }}
- --shutdown-grace={{ .Values.controller.shutdownGracePeriodSeconds }}s
{{- if include "netpol-syncer.leaderElect" . }}
- --leader-elect=true
- --leader-elect-resource-name={{ include "netpol-syncer.leaseName" . }}
- --leader-elect-lease-duration={{ .Values.leaderElection.leaseDuration }}
- --leader-elect-renew-deadline={{ .Values.leaderElection.renewDeadline }}
- --leader-elect-retry-period={{ .Values.leaderElection.retryPeriod }}
{{- end }}
{{- range .Values.controller.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* The container, identical in the Deployment and in the sidecar block for the vCluster chart. */}}
{{- define "netpol-syncer.container" -}}
name: netpol-syncer
image: {{ include "netpol-syncer.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args:
{{- include "netpol-syncer.args" . | nindent 2 }}
env:
  # The host namespace is the pod's own: the vCluster's namespace in both modes.
  - name: NETPOL_SYNCER_HOST_NAMESPACE
    valueFrom:
      fieldRef:
        fieldPath: metadata.namespace
{{- with .Values.controller.extraEnv }}
{{- toYaml . | nindent 2 }}
{{- end }}
ports:
  - name: netpol-metrics
    containerPort: {{ .Values.metrics.port }}
    protocol: TCP
livenessProbe:
  httpGet:
    path: /healthz
    port: netpol-metrics
  initialDelaySeconds: {{ .Values.probes.liveness.initialDelaySeconds }}
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
{{- if eq .Values.mode "standalone" }}
# Standalone only: a sidecar's readiness is the vCluster pod's, and the vCluster Service has no
# publishNotReadyAddresses, so a not-ready sidecar would cut every client off the virtual API.
readinessProbe:
  httpGet:
    path: /readyz
    port: netpol-metrics
  {{- with .Values.probes.readiness.initialDelaySeconds }}
  initialDelaySeconds: {{ . }}
  {{- end }}
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
{{- end }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  # Complete on the container: in sidecar mode the pod-level context belongs to the vCluster.
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  privileged: false
  capabilities:
    drop:
      - ALL
  seccompProfile:
    type: RuntimeDefault
volumeMounts:
  - name: netpol-syncer-config
    mountPath: {{ include "netpol-syncer.configDir" . }}
    readOnly: true
  - name: netpol-syncer-kubeconfig
    mountPath: {{ include "netpol-syncer.kubeconfigDir" . }}
    readOnly: true
  - name: netpol-syncer-tmp
    mountPath: /tmp
terminationMessagePolicy: FallbackToLogsOnError
{{- end -}}

{{/* The container's volumes. Whatever may be absent is optional: a volume that cannot be
mounted keeps the whole pod (in sidecar mode: the vCluster) in ContainerCreating. The ConfigMap
goes when this chart is uninstalled; vCluster writes the kubeconfig Secret only after its
control plane is up. In sidecar mode the Secret is readable by every user, as the pod's fsGroup
is the vCluster's. */}}
{{- define "netpol-syncer.volumes" -}}
- name: netpol-syncer-config
  configMap:
    name: {{ include "netpol-syncer.configName" . }}
    optional: true
- name: netpol-syncer-kubeconfig
  secret:
    secretName: {{ include "netpol-syncer.kubeconfigSecretName" . }}
    items:
      - key: {{ .Values.vcluster.kubeconfigSecret.key }}
        path: {{ .Values.vcluster.kubeconfigSecret.key }}
    {{- if eq .Values.mode "sidecar" }}
    defaultMode: 292  # 0444
    optional: true
    {{- else }}
    defaultMode: 288  # 0440, group 65532 (the pod's fsGroup)
    {{- end }}
- name: netpol-syncer-tmp
  emptyDir:
    sizeLimit: 32Mi
{{- end -}}

{{/* PromQL label matchers for this syncer's series. */}}
{{- define "netpol-syncer.promSelector" -}}
{{- if .Values.prometheusRule.selector -}}
{{- .Values.prometheusRule.selector -}}
{{- else -}}
namespace="{{ .Release.Namespace }}",vcluster="{{ include "netpol-syncer.vclusterName" . }}"
{{- end -}}
{{- end -}}

{{/* The vCluster chart values that add the sidecar (see sidecar-configmap.yaml). vCluster
copies controlPlane.statefulSet.sidecarContainers into its pod as they are (no templating), so
every name here is already resolved. */}}
{{- define "netpol-syncer.sidecarValues" -}}
{{- $secret := include "netpol-syncer.kubeconfigSecretName" . -}}
# netpol-syncer {{ .Chart.AppVersion }} as a sidecar of the vCluster "{{ include "netpol-syncer.vclusterName" . }}".
# Merge into that vCluster's values (helm upgrade ... -f). Helm replaces lists, so if you
# already set sidecarContainers, persistence.addVolumes or exportKubeConfig.additionalSecrets,
# append these entries to yours.
sync:
  toHost:
    networkPolicies:
      # vCluster's built-in network-policy syncer stays off: netpol-syncer does this job, and
      # reads its own settings (sync.enabled, sync.patches of the netpol-syncer chart) from
      # ConfigMap {{ include "netpol-syncer.configName" . }}.
      enabled: false
{{- if .Values.vcluster.kubeconfigSecret.export }}
exportKubeConfig:
  # A kubeconfig of the sidecar's own: Secret vc-<name> follows your exportKubeConfig settings
  # (an external server, insecure, a service-account token, another context), this entry does
  # not. vCluster writes it beside vc-<name>, owned by the vCluster Service. vCluster refuses
  # exportKubeConfig.secret together with additionalSecrets: move such a secret into this list.
  additionalSecrets:
    - name: {{ $secret }}
      server: https://localhost:8443
{{- end }}
controlPlane:
  statefulSet:
    sidecarContainers:
{{ include "netpol-syncer.container" . | indent 8 | trimPrefix "        " | printf "      - %s" }}
    persistence:
      # Pod volumes for the sidecar only (vCluster's addVolumeMounts would go to its own
      # container, so the sidecar mounts them itself). All may be absent, so all are optional:
      # a volume that cannot be mounted would keep the whole vCluster pod from starting.
      # - netpol-syncer-config: ConfigMap {{ include "netpol-syncer.configName" . }} from the netpol-syncer chart, the
      #   syncer's sync.toHost.networkPolicies settings, at the syncer's default --config path.
      #   Without it the syncer runs with the defaults (sync on, no patches) and says so;
      # - netpol-syncer-kubeconfig: Secret {{ $secret }} (key {{ .Values.vcluster.kubeconfigSecret.key }}), the virtual cluster's
      #   kubeconfig, which vCluster writes once its controllers run. Its server is
      #   https://localhost:8443, the vCluster proxy in this very pod. Until it is there the
      #   syncer waits; it never gates the pod (no readinessProbe);
      # - netpol-syncer-tmp: the only writable path (the root filesystem is read-only).
      addVolumes:
{{ include "netpol-syncer.volumes" . | indent 8 }}
{{- end -}}
