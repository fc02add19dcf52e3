package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// logRequest writes the access log line of one request (Config.AccessLog)
// once its handler has returned: what was asked, what was answered, how
// long it took and who asked.
func (s *Server) logRequest(w *accessWriter, r *http.Request, start time.Time) {
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", w.Status()),
		slog.Int64("bytes", w.bytes),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("remote", r.RemoteAddr),
	}
	if id := r.Header.Get("X-Request-Id"); id != "" {
		if len(id) > 200 {
			id = id[:200]
		}
		attrs = append(attrs, slog.String("request_id", id))
	}
	s.logger.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
}

// accessWriter counts what a handler writes, for the access log.
type accessWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// Status is the response's status: 200 when the handler set none.
func (w *accessWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *accessWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *accessWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush passes a flush on when the writer below can.
func (w *accessWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer below.
func (w *accessWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
