package memtrim

// Released is what ReleaseExecutablePages gave back.
type Released struct {
	// Mappings is how many mappings of the executable were released.
	Mappings int
	// Bytes is their total size (not all of it was resident).
	Bytes uint64
}
