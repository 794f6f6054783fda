package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Formats of log lines.
const (
	// FormatPlain writes logfmt-style key=value lines (slog.TextHandler).
	FormatPlain = "plain"
	// FormatJSON writes one JSON object per line (slog.JSONHandler).
	FormatJSON = "json"
)

// Levels accepted by ParseLevel, lowest first.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Levels lists the accepted level names, lowest first, for help texts.
func Levels() []string { return []string{LevelDebug, LevelInfo, LevelWarn, LevelError} }

// Formats lists the accepted format names, for help texts.
func Formats() []string { return []string{FormatPlain, FormatJSON} }

// Options select a logger. The zero value logs at info level in plain
// format.
type Options struct {
	// Level is debug, info, warn or error (case-insensitive); empty means
	// info.
	Level string
	// Format is plain or json (case-insensitive); empty means plain.
	Format string
	// Dynamic, when set, holds the logger's level instead of a fixed one:
	// it is set to Level here, and setting it later (an admin endpoint)
	// changes what the logger writes from then on.
	Dynamic *slog.LevelVar
}

// ParseLevel converts a level name into a slog.Level; empty means info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case LevelDebug:
		return slog.LevelDebug, nil
	case LevelInfo, "":
		return slog.LevelInfo, nil
	case LevelWarn, "warning":
		return slog.LevelWarn, nil
	case LevelError:
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want one of %s)", s, strings.Join(Levels(), ", "))
}

// NewHandler returns a slog handler writing to w as opts select.
func NewHandler(w io.Writer, opts Options) (slog.Handler, error) {
	level, err := ParseLevel(opts.Level)
	if err != nil {
		return nil, err
	}
	format := strings.ToLower(strings.TrimSpace(opts.Format))
	switch format {
	case FormatPlain, "", FormatJSON:
	default:
		return nil, fmt.Errorf("unknown log format %q (want one of %s)", opts.Format, strings.Join(Formats(), ", "))
	}
	ho := &slog.HandlerOptions{Level: level}
	if opts.Dynamic != nil {
		opts.Dynamic.Set(level)
		ho.Level = opts.Dynamic
	}
	if format == FormatJSON {
		return slog.NewJSONHandler(w, ho), nil
	}
	return slog.NewTextHandler(w, ho), nil
}

// New returns a logger writing to w as opts select.
func New(w io.Writer, opts Options) (*slog.Logger, error) {
	h, err := NewHandler(w, opts)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}

// Discard returns a logger that drops everything, the default of
// dependency structs whose Logger is nil.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
