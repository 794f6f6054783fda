package proxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// maxLogLevelBody bounds a PUT /proxy-log-level body: a directive is a
// few words.
const maxLogLevelBody = 1 << 10

// logLevelHandler serves /proxy-log-level as Linkerd's proxy does, to
// loopback clients only: GET answers the level the proxy logs at; PUT
// sets it from a body holding a level or a Linkerd-style directive
// ("warn,linkerd=debug", see EffectiveLogLevel), answering 204. The
// change lasts until the proxy restarts.
func (p *Proxy) logLevelHandler(mux *http.ServeMux) {
	const path = "/proxy-log-level"
	if p.logLevel == nil {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "this proxy's log level is fixed: restart it with another --log-level", http.StatusNotFound)
		})
		return
	}
	mux.Handle("GET "+path, loopbackOnly("log levels", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, levelName(p.logLevel.Level())+"\n")
	})))
	mux.Handle("PUT "+path, loopbackOnly("log levels", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLogLevelBody))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, fmt.Sprintf("log level: body over %d bytes: send a level such as debug", maxLogLevelBody), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "log level: read the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		level, err := effectiveLevel(strings.TrimSpace(string(body)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		from := p.logLevel.Level()
		p.logLevel.Set(level)
		// At warn so that the change shows at every level but error.
		p.log.Warn("log level changed", "from", levelName(from), "to", levelName(level), "peer", r.RemoteAddr)
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", "GET, PUT")
		http.Error(w, "log level: GET it or PUT a new one", http.StatusMethodNotAllowed)
	})
}

// levelName is the name --log-level takes for level.
func levelName(level slog.Level) string {
	return strings.ToLower(level.String())
}
