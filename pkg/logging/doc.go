// Package logging builds the log/slog loggers of meshctl's long-running
// processes (controllers, later the proxy) from the --log-level and
// --log-format flags. Loggers write to a writer the caller injects; the
// package never touches os.Stderr itself.
package logging
