package inject

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
)

// spillAt is how much output a stage holds in memory before it moves to a
// temporary file. At 8 MiB the buffer's growth and the garbage collector's
// headroom over it cost a 10,000-document inject 25 MB of peak RSS; writing
// to the file instead costs nothing measurable.
const spillAt = 1 << 20

// stage holds the output until every document has been accepted, so that
// nothing is written when a later document fails. Small outputs stay in
// memory; a large one moves to an unlinked temporary file, so that memory
// does not grow with the output (a --manual inject writes several times
// its input). Without a writable temporary directory it stays in memory.
type stage struct {
	mem  bytes.Buffer
	file *os.File
	buf  *bufio.Writer
	size int64
}

func (s *stage) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) > spillAt {
		s.spill()
	}
	s.size += int64(len(p))
	if s.file != nil {
		return s.buf.Write(p)
	}
	return s.mem.Write(p)
}

func (s *stage) WriteString(p string) (int, error) {
	return s.Write([]byte(p))
}

// spill moves the output to a temporary file; it keeps to memory when
// none can be created.
func (s *stage) spill() {
	f, err := os.CreateTemp("", "meshctl-inject-*")
	if err != nil {
		return
	}
	// Unlinked at once: the file goes away with the process, however it ends.
	_ = os.Remove(f.Name())
	s.file, s.buf = f, bufio.NewWriterSize(f, 256<<10)
	_, _ = s.buf.Write(s.mem.Bytes()) // errors surface at the next Write or flush
	s.mem = bytes.Buffer{}
}

// WriteTo copies the staged output to w.
func (s *stage) WriteTo(w io.Writer) (int64, error) {
	if s.file == nil {
		n, err := w.Write(s.mem.Bytes())
		return int64(n), err
	}
	if err := s.rewind(); err != nil {
		return 0, err
	}
	return io.Copy(w, s.file)
}

// Bytes returns the staged output in one slice of exactly its size.
func (s *stage) Bytes() ([]byte, error) {
	if s.file == nil {
		return s.mem.Bytes(), nil
	}
	if err := s.rewind(); err != nil {
		return nil, err
	}
	out := make([]byte, s.size)
	if _, err := io.ReadFull(s.file, out); err != nil {
		return nil, fmt.Errorf("read the staged output back: %w", err)
	}
	return out, nil
}

func (s *stage) rewind() error {
	if err := s.buf.Flush(); err != nil {
		return fmt.Errorf("stage the output in %s: %w", os.TempDir(), err)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind the staged output: %w", err)
	}
	return nil
}

// Close releases the temporary file.
func (s *stage) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}
