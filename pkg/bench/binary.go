package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// installBinary copies the meshctl executable src into dir as name and
// returns the copy's path; the proxy and floor pairs run the copy.
//
// A binary fresh from `go build` is not in the page cache the way a
// deployed one is: the linker writes its output through a memory mapping,
// which leaves parts of it in page-cache folios of 1-2 MiB, and a fault
// maps the folio it lands in whole. The same bytes copied (as an image's
// extraction writes them: 64 KiB folios) or read back from disk measured
// 5-8 MiB less resident per proxy here, so
// without the copy the memory columns would depend on how the binary was
// built rather than on the proxy.
func installBinary(src, dir, name string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("copy the meshctl executable: %w", err)
	}
	defer func() { _ = in.Close() }()
	dst := filepath.Join(dir, name)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return "", fmt.Errorf("copy the meshctl executable: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return "", fmt.Errorf("copy the meshctl executable to %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("copy the meshctl executable to %s: %w", dst, err)
	}
	return dst, nil
}
