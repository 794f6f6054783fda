package inject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultMaxInputBytes bounds the total size of the inputs.
const DefaultMaxInputBytes = 64 << 20

// ReadOptions configure ReadInputs. The zero value is usable.
type ReadOptions struct {
	// Stdin is read for "-"; nil means empty input.
	Stdin io.Reader
	// MaxBytes bounds the total size of all inputs; zero means
	// DefaultMaxInputBytes.
	MaxBytes int64
	// HTTPClient fetches https:// URLs; nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// ReadInputs reads each argument: "-" is stdin, an https:// URL is
// downloaded, a directory is walked in lexical order (files ending in
// .yaml, .yml or .json, hidden entries and symlinked directories skipped),
// anything else is a file. http:// and other schemes are refused.
func ReadInputs(ctx context.Context, args []string, o ReadOptions) ([]Source, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxInputBytes
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	r := &reader{opts: o, left: o.MaxBytes}
	var out []Source
	for _, a := range args {
		srcs, err := r.read(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, srcs...)
	}
	return out, nil
}

type reader struct {
	opts ReadOptions
	left int64
}

func (r *reader) read(ctx context.Context, arg string) ([]Source, error) {
	switch {
	case arg == "-":
		in := r.opts.Stdin
		if in == nil {
			in = strings.NewReader("")
		}
		b, err := r.limited("stdin", in)
		if err != nil {
			return nil, err
		}
		return []Source{{Name: "stdin", Data: b}}, nil
	case strings.HasPrefix(strings.ToLower(arg), "https://"):
		b, err := r.fetch(ctx, arg)
		if err != nil {
			return nil, err
		}
		return []Source{{Name: arg, Data: b}}, nil
	case strings.HasPrefix(strings.ToLower(arg), "http://"):
		return nil, fmt.Errorf("%s: only https:// URLs are allowed (plain http could be tampered with in transit): use the https:// URL or download the file first", arg)
	case strings.Contains(arg, "://"):
		return nil, fmt.Errorf("%s: unsupported URL scheme: use an https:// URL, a file, a directory or - for stdin", arg)
	}
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", arg, unwrapPath(err))
	}
	if !fi.IsDir() {
		b, err := r.file(arg)
		if err != nil {
			return nil, err
		}
		return []Source{{Name: arg, Data: b}}, nil
	}
	return r.dir(arg)
}

// dir walks a directory in lexical order.
func (r *reader) dir(root string) ([]Source, error) {
	var out []Source
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", p, unwrapPath(err))
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("cannot read %s: %w", p, unwrapPath(err))
			}
			if fi.IsDir() {
				return nil
			}
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		b, err := r.file(p)
		if err != nil {
			return err
		}
		out = append(out, Source{Name: p, Data: b})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (r *reader) file(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", p, unwrapPath(err))
	}
	defer f.Close()
	return r.limited(p, f)
}

func (r *reader) fetch(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot download %s: %s", url, resp.Status)
	}
	return r.limited(url, resp.Body)
}

// limited reads all of in within the remaining size budget.
func (r *reader) limited(name string, in io.Reader) ([]byte, error) {
	size := sizeOf(in)
	if size > r.left {
		return nil, r.tooLarge(name) // known without reading it
	}
	b, err := readAll(io.LimitReader(in, r.left+1), size)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, unwrapPath(err))
	}
	if int64(len(b)) > r.left {
		return nil, r.tooLarge(name)
	}
	r.left -= int64(len(b))
	return b, nil
}

func (r *reader) tooLarge(name string) error {
	return fmt.Errorf("%s: the inputs are larger than %d MiB in total: split them into several runs", name, r.opts.MaxBytes>>20)
}

// sizeOf returns the size of in when it is a regular file (a named input,
// or stdin redirected from one), else 0.
func sizeOf(in io.Reader) int64 {
	f, ok := in.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return 0
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	return fi.Size()
}

// readAll is io.ReadAll with a size hint. Reading a file of known size
// into a buffer of that size (one byte more, so that the read that meets
// the end does not grow it) avoids io.ReadAll's growth by copying, which
// for a 20 MB manifest holds about twice its size at the peak.
func readAll(in io.Reader, sizeHint int64) ([]byte, error) {
	b := make([]byte, 0, max(512, sizeHint+1))
	for {
		n, err := in.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// unwrapPath drops the *PathError wrapper, whose message repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
