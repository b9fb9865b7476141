"""The controller: the I/O shell around the pure core (``translate``, ``patches``).

Modules are named after the stage they perform: ``watching`` (informers) -> ``caching`` ->
``queueing`` -> ``reconciling`` -> host writes through ``clients``; ``recording`` writes Events,
``serving`` exposes metrics and health, ``electing`` holds the leader lease, ``running`` wires
everything for ``netpol-syncer run``.
"""
