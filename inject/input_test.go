package inject

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAllSizeHint(t *testing.T) {
	data := bytes.Repeat([]byte("kind: Pod\n"), 1000)
	for _, tc := range []struct {
		name string
		in   io.Reader
		hint int64
		want []byte
	}{
		{"empty", strings.NewReader(""), 0, nil},
		{"no hint", bytes.NewReader(data), 0, data},
		{"exact hint", bytes.NewReader(data), int64(len(data)), data},
		{"hint too small (the file grew)", bytes.NewReader(data), 100, data},
		{"hint too large (the file shrank)", bytes.NewReader(data), 1 << 20, data},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), int64(len(data)), data},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.in, tc.hint)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("read %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}

func TestReadAllReportsReadErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := readAll(io.MultiReader(strings.NewReader("a: 1\n"), iotest.ErrReader(boom)), 0)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

// A named file is read into a buffer of its own size: no growth by
// copying, which would hold about twice a large manifest at the peak.
func TestReadInputsReadsAFileIntoABufferOfItsSize(t *testing.T) {
	data := bytes.Repeat([]byte("apiVersion: v1\nkind: Pod\n---\n"), 4000)
	p := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, args := range map[string][]string{"file": {p}, "stdin": {"-"}} {
		srcs, err := ReadInputs(t.Context(), args, ReadOptions{Stdin: f})
		if err != nil {
			t.Fatal(err)
		}
		if len(srcs) != 1 || !bytes.Equal(srcs[0].Data, data) {
			t.Fatalf("%s: read %d sources, want the file", name, len(srcs))
		}
		if c := cap(srcs[0].Data); c != len(data)+1 {
			t.Errorf("%s: buffer capacity %d, want %d (the file's size and one byte)", name, c, len(data)+1)
		}
	}
}

// A file over the size budget is refused from its size, before it is read.
func TestReadInputsRefusesAnOversizedFileUnread(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#\n"), 600), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(big)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := &unreadable{File: f, t: t}
	_, err = ReadInputs(t.Context(), []string{"-"}, ReadOptions{Stdin: in, MaxBytes: 1 << 10})
	if err == nil || !strings.Contains(err.Error(), "stdin: the inputs are larger than") {
		t.Fatalf("err = %v, want stdin refused for its size", err)
	}
	// A budget the file fits in reads it.
	srcs, err := ReadInputs(t.Context(), []string{big}, ReadOptions{MaxBytes: 2 << 10})
	if err != nil || len(srcs) != 1 || len(srcs[0].Data) != 1200 {
		t.Fatalf("read %d sources, %v", len(srcs), err)
	}
}

// unreadable is a file whose size can be asked but which must not be read.
type unreadable struct {
	*os.File
	t *testing.T
}

func (u *unreadable) Read([]byte) (int, error) {
	u.t.Error("read a file whose size alone refuses it")
	return 0, io.EOF
}
