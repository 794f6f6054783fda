package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/meshctl/meshctl/viz"
)

// Terminal control sequences of top's full screen (VT100/xterm).
const (
	ansiAltScreenOn  = "\x1b[?1049h\x1b[?25l" // alternate screen, hide cursor
	ansiAltScreenOff = "\x1b[?25h\x1b[?1049l" // show cursor, main screen
	ansiHome         = "\x1b[H"
	ansiClearLine    = "\x1b[K"
	ansiClearBelow   = "\x1b[J"
)

type vizTopOptions struct {
	*globalOptions
	vizTapFlags
	hideSources bool
	// refresh is the time between frames: a redraw on a terminal, a new
	// table otherwise.
	refresh time.Duration
}

func newVizTopCmd(g *globalOptions) *cobra.Command {
	o := &vizTopOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "top RESOURCE [NAME...]",
		Short: "Show a live table of the selected pods' requests, by path",
		Long: `Show a live table of the requests the selected pods' proxies see, built
from the same stream as viz tap: one row per source, destination, method
and path (without its query), with Count (requests seen), Best, Worst and
Last (latency to the response's head, or to the end when there was no
response) and Success Rate (responses below 500 without an error or a
failed grpc-status, among the finished ones). Most requests first.

On a terminal the table fills the screen and redraws in place; press q or
Ctrl-C to leave, and the terminal is restored. Otherwise a new table is
printed every --refresh. Tap's token, RBAC and sampling apply (see viz tap).`,
		Example: `  # What web's pods serve and send, live
  meshctl viz top deploy/web -n shop

  # Only the API paths, without the Source column
  meshctl viz top deploy/web -n shop --path /api --hide-sources`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(args); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.hideSources, "hide-sources", false, "Leave out the Source column")
	cmd.Flags().DurationVar(&o.refresh, "refresh", time.Second, "Time between redraws (or between tables when not on a terminal)")
	return cmd
}

func (o *vizTopOptions) validate(args []string) error {
	if o.refresh < 100*time.Millisecond {
		return usageError(fmt.Errorf("--refresh %s is too short: use 100ms or more", o.refresh))
	}
	return o.vizTapFlags.validate(args)
}

func (o *vizTopOptions) run(ctx context.Context) error {
	tapper, err := o.tapper(ctx, o.globalOptions)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		top   viz.Top
		notes []string
	)
	emit := func(ev viz.TapEvent) { mu.Lock(); top.Add(ev); mu.Unlock() }
	note := func(s string) { mu.Lock(); notes = append(notes, s); mu.Unlock() }
	done := make(chan error, 1)
	go func() { done <- tapper.Run(ctx, o.query, emit, note) }()

	screen, restore, err := o.enterScreen(cancel)
	if err != nil {
		return err
	}
	tick := time.NewTicker(o.refresh)
	defer tick.Stop()
	frame := func() error {
		mu.Lock()
		rows, pending := top.Rows(), notes
		notes = nil
		mu.Unlock()
		if screen != nil {
			return screen.draw(o.streams.Out, rows, o.hideSources)
		}
		for _, n := range pending {
			fmt.Fprintf(o.streams.ErrOut, "note: %s\n", n)
		}
		var buf bytes.Buffer
		if err := viz.WriteTopTable(&buf, rows, viz.TopTableOptions{HideSources: o.hideSources}); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := o.streams.Out.Write(buf.Bytes())
		return err
	}
	for {
		select {
		case err := <-done:
			restore()
			if err == nil {
				err = o.flushNotes(&mu, &notes)
				if screen != nil || len(top.Rows()) > 0 {
					return o.finalTable(&top, &mu)
				}
			}
			return err
		case <-tick.C:
			if err := frame(); err != nil {
				cancel()
				<-done
				restore()
				return err
			}
		}
	}
}

// flushNotes prints the notes a full screen kept from stderr.
func (o *vizTopOptions) flushNotes(mu *sync.Mutex, notes *[]string) error {
	mu.Lock()
	defer mu.Unlock()
	for _, n := range *notes {
		fmt.Fprintf(o.streams.ErrOut, "note: %s\n", n)
	}
	*notes = nil
	return nil
}

// finalTable leaves the last table on the main screen.
func (o *vizTopOptions) finalTable(top *viz.Top, mu *sync.Mutex) error {
	mu.Lock()
	rows := top.Rows()
	mu.Unlock()
	var buf bytes.Buffer
	if err := viz.WriteTopTable(&buf, rows, viz.TopTableOptions{HideSources: o.hideSources}); err != nil {
		return err
	}
	_, err := o.streams.Out.Write(buf.Bytes())
	return err
}

// topScreen is the full-screen view on a terminal.
type topScreen struct {
	out *os.File
}

// enterScreen switches to the alternate screen when stdout is a terminal
// and, when stdin is one too, to raw input so that q and Ctrl-C reach
// cancel. restore undoes both; it is safe to call more than once.
func (o *vizTopOptions) enterScreen(cancel context.CancelFunc) (*topScreen, func(), error) {
	out, ok := o.streams.Out.(*os.File)
	if !ok || !isatty.IsTerminal(out.Fd()) {
		return nil, func() {}, nil
	}
	var once sync.Once
	var oldState *term.State
	in, inOK := o.streams.In.(*os.File)
	if inOK && isatty.IsTerminal(in.Fd()) {
		st, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return nil, nil, fmt.Errorf("put the terminal in raw mode: %w", err)
		}
		oldState = st
		go readKeys(in, cancel)
	}
	_, _ = io.WriteString(out, ansiAltScreenOn)
	restore := func() {
		once.Do(func() {
			_, _ = io.WriteString(out, ansiAltScreenOff)
			if oldState != nil {
				_ = term.Restore(int(in.Fd()), oldState)
			}
		})
	}
	return &topScreen{out: out}, restore, nil
}

// readKeys cancels on q, Q or Ctrl-C (raw mode delivers it as a byte).
func readKeys(in io.Reader, cancel context.CancelFunc) {
	b := make([]byte, 16)
	for {
		n, err := in.Read(b)
		for _, c := range b[:n] {
			if c == 'q' || c == 'Q' || c == 3 {
				cancel()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// draw redraws the table in place, cut to the terminal's height and width.
func (s *topScreen) draw(w io.Writer, rows []viz.TopRow, hideSources bool) error {
	width, height, err := term.GetSize(int(s.out.Fd()))
	if err != nil || height < 4 {
		width, height = 200, 40
	}
	var table bytes.Buffer
	if err := viz.WriteTopTable(&table, rows, viz.TopTableOptions{MaxRows: height - 3, HideSources: hideSources}); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(ansiHome)
	fmt.Fprintf(&b, "meshctl viz top: %s (q to quit)%s\r\n\r\n", time.Now().Format(time.TimeOnly), ansiClearLine)
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		if r := []rune(line); len(r) > width {
			line = string(r[:width])
		}
		b.WriteString(line + ansiClearLine + "\r\n")
	}
	b.WriteString(ansiClearBelow)
	_, err = io.WriteString(w, b.String())
	return err
}
