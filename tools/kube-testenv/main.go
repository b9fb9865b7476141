// Command kube-testenv runs a real kube-apiserver backed by an embedded etcd, for tests.
//
// Both run in this one process, bound to 127.0.0.1. The data directory keeps etcd's data, the
// serving CA and certificate, the service-account key and the token file, so a restart on the
// same directory serves the same objects to clients holding the same kubeconfig. There is no
// kube-controller-manager: namespace deletion and garbage collection never complete.
//
//	kube-testenv --port P --kubeconfig-out FILE [--data-dir D] [--rbac] [--token NAME=TOKEN ...]
//	             [--admin-port A] [-- kube-apiserver flags...]
//
// The server's URL is printed on stdout once /readyz answers 200; SIGTERM stops both servers
// and exits 0. With --admin-port, POST http://127.0.0.1:A/compact compacts etcd at its current
// revision (what kube-apiserver does every five minutes), so tests can provoke 410 Gone.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

type tokens []string

func (t *tokens) String() string { return strings.Join(*t, ",") }

func (t *tokens) Set(value string) error {
	name, token, ok := strings.Cut(value, "=")
	if !ok || name == "" || token == "" || strings.ContainsAny(value, ",\"\n") {
		return fmt.Errorf("--token wants NAME=TOKEN without commas or quotes, got %q", value)
	}
	*t = append(*t, value)
	return nil
}

type options struct {
	port          int
	adminPort     int
	kubeconfigOut string
	dataDir       string
	rbac          bool
	tokens        tokens
	passthrough   []string
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("kube-testenv", flag.ContinueOnError)
	fs.IntVar(&o.port, "port", 6443, "HTTPS port of kube-apiserver on 127.0.0.1")
	fs.IntVar(&o.adminPort, "admin-port", 0, "HTTP port on 127.0.0.1 for POST /compact (0: none)")
	fs.StringVar(&o.kubeconfigOut, "kubeconfig-out", "", "write an admin kubeconfig here (required)")
	fs.StringVar(&o.dataDir, "data-dir", "", "etcd data, certificates and keys; a temporary directory if empty")
	fs.BoolVar(&o.rbac, "rbac", false, "authorize with RBAC (default: everyone may do everything)")
	fs.Var(&o.tokens, "token", "NAME=TOKEN: a bearer token for user NAME (repeatable)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.passthrough = fs.Args()
	if o.kubeconfigOut == "" {
		return o, errors.New("--kubeconfig-out is required")
	}
	return o, nil
}

func main() {
	o, err := parse(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "kube-testenv:", err)
		os.Exit(2)
	}
	os.Exit(run(o))
}

func run(o options) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "kube-testenv:", err)
		return 1
	}
	if o.dataDir == "" {
		dir, err := os.MkdirTemp("", "kube-testenv-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		o.dataDir = dir
	}
	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fail(err)
	}
	files, err := prepare(dataDir, o)
	if err != nil {
		return fail(err)
	}
	etcd, clientURL, err := startEtcd(dataDir)
	if err != nil {
		return fail(fmt.Errorf("etcd: %w", err))
	}
	defer etcd.Close()
	if o.adminPort != 0 {
		if err := serveAdmin(o.adminPort, clientURL); err != nil {
			return fail(err)
		}
	}
	if err := writeKubeconfig(o.kubeconfigOut, o.port, files); err != nil {
		return fail(err)
	}

	args := []string{
		"--etcd-servers=" + clientURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(o.port),
		"--cert-dir=" + filepath.Join(dataDir, "apiserver"),
		"--tls-cert-file=" + files.serverCert,
		"--tls-private-key-file=" + files.serverKey,
		"--token-auth-file=" + files.tokenFile,
		"--service-account-key-file=" + files.saKey,
		"--service-account-signing-key-file=" + files.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=0",
	}
	if o.rbac {
		args = append(args, "--authorization-mode=RBAC")
	} else {
		args = append(args, "--authorization-mode=AlwaysAllow")
	}
	args = append(args, o.passthrough...)

	command := app.NewAPIServerCommand()
	command.SetArgs(args)
	go announce(command.Context(), o.port, files)
	done := make(chan int, 1)
	go func() { done <- cli.Run(command) }()
	select {
	case code := <-done:
		return code
	case err := <-etcd.Err():
		return fail(fmt.Errorf("etcd stopped: %w", err))
	}
}

// announce prints the URL once kube-apiserver answers /readyz with 200.
func announce(ctx context.Context, port int, files paths) {
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(files.caCert)
	if err != nil || !pool.AppendCertsFromPEM(ca) {
		fmt.Fprintln(os.Stderr, "kube-testenv: cannot read the CA", err)
		os.Exit(1)
	}
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	for ctx.Err() == nil {
		request, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		request.Header.Set("Authorization", "Bearer "+files.adminToken)
		response, err := client.Do(request)
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				fmt.Println(base)
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// --- data directory: certificates, keys, tokens ---------------------------------------------

type paths struct {
	caCert, serverCert, serverKey, saKey, tokenFile, adminToken string
}

func prepare(dir string, o options) (paths, error) {
	p := paths{
		caCert:     filepath.Join(dir, "ca.crt"),
		serverCert: filepath.Join(dir, "server.crt"),
		serverKey:  filepath.Join(dir, "server.key"),
		saKey:      filepath.Join(dir, "service-account.key"),
		tokenFile:  filepath.Join(dir, "tokens.csv"),
	}
	if !exists(p.caCert) || !exists(p.serverCert) || !exists(p.serverKey) {
		if err := writeServingCerts(p); err != nil {
			return p, err
		}
	}
	if !exists(p.saKey) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return p, err
		}
		block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
		if err := os.WriteFile(p.saKey, pem.EncodeToMemory(block), 0o600); err != nil {
			return p, err
		}
	}
	adminFile := filepath.Join(dir, "admin.token")
	if raw, err := os.ReadFile(adminFile); err == nil {
		p.adminToken = strings.TrimSpace(string(raw))
	} else {
		secret := make([]byte, 24)
		if _, err := rand.Read(secret); err != nil {
			return p, err
		}
		p.adminToken = hex.EncodeToString(secret)
		if err := os.WriteFile(adminFile, []byte(p.adminToken+"\n"), 0o600); err != nil {
			return p, err
		}
	}
	lines := []string{p.adminToken + `,admin,admin,"system:masters"`}
	for _, entry := range o.tokens {
		name, token, _ := strings.Cut(entry, "=")
		lines = append(lines, token+","+name+","+name)
	}
	return p, os.WriteFile(p.tokenFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

func writeServingCerts(p paths) error {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	now := time.Now().Add(-time.Hour)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kube-testenv-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	serverKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	server := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now,
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, server, ca, &serverKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	writes := []struct {
		path, kind string
		der        []byte
	}{
		{p.caCert, "CERTIFICATE", caDER},
		{p.serverCert, "CERTIFICATE", serverDER},
		{p.serverKey, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(serverKey)},
	}
	for _, w := range writes {
		data := pem.EncodeToMemory(&pem.Block{Type: w.kind, Bytes: w.der})
		if err := os.WriteFile(w.path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func writeKubeconfig(path string, port int, p paths) error {
	ca, err := os.ReadFile(p.caCert)
	if err != nil {
		return err
	}
	// JSON is YAML: no YAML library needed.
	config := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "kube-testenv",
		"clusters": []any{map[string]any{
			"name": "kube-testenv",
			"cluster": map[string]any{
				"server":                     fmt.Sprintf("https://127.0.0.1:%d", port),
				"certificate-authority-data": ca,
			},
		}},
		"users": []any{map[string]any{
			"name": "admin",
			"user": map[string]any{"token": p.adminToken},
		}},
		"contexts": []any{map[string]any{
			"name":    "kube-testenv",
			"context": map[string]any{"cluster": "kube-testenv", "user": "admin"},
		}},
	}
	data, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// --- etcd -------------------------------------------------------------------------------------

// startEtcd starts a one-member etcd in dir/etcd. Its ports are chosen once and kept in
// dir/etcd-ports, because a restarted member must advertise the peer URL it was created with.
func startEtcd(dir string) (*embed.Etcd, string, error) {
	portsFile := filepath.Join(dir, "etcd-ports")
	var client, peer int
	if raw, err := os.ReadFile(portsFile); err == nil {
		if _, err := fmt.Sscanf(string(raw), "%d %d", &client, &peer); err != nil {
			return nil, "", fmt.Errorf("%s: %w", portsFile, err)
		}
	} else {
		var err error
		if client, err = freePort(); err != nil {
			return nil, "", err
		}
		if peer, err = freePort(); err != nil {
			return nil, "", err
		}
		if err := os.WriteFile(portsFile, []byte(fmt.Sprintf("%d %d\n", client, peer)), 0o600); err != nil {
			return nil, "", err
		}
	}
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", client)}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peer)}
	cfg := embed.NewConfig()
	cfg.Name = "kube-testenv"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // test data: speed over durability across power loss
	cfg.QuotaBackendBytes = 2 << 30
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", errors.New("not ready within 60 s")
	}
	return e, clientURL.String(), nil
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// serveAdmin answers POST /compact by compacting etcd at its current revision.
func serveAdmin(port int, etcdURL string) error {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /compact", func(w http.ResponseWriter, r *http.Request) {
		current, err := client.Get(r.Context(), "compact-revision-probe")
		if err == nil {
			_, err = client.Compact(r.Context(), current.Header.Revision, clientv3.WithCompactPhysical())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"revision\": %d}\n", current.Header.Revision)
	})
	go http.Serve(listener, mux) //nolint:errcheck // lives as long as the process
	return nil
}
