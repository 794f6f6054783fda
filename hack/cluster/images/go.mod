// Helper programs of hack/cluster (the pause and hello images, and the OCI image packer).
// A separate module so the main meshctl module ignores it. Standard library only.
module meshctl.local/cluster-images

go 1.26.0
