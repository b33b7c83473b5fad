"""Ray Serve as a backend: the driver-side proxy, the replica and the cluster code.

`proxy` is the specialist the registry builds for `backend = "ray"`, `replica` what each Serve
replica runs, `cluster` joining a cluster, placement and the network guard. Importing this
package imports no Ray; Ray is imported when a model loads.
"""
