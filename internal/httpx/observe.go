package httpx

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-id/gatehouse/internal/logging"
)

// Metrics are the HTTP request series.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

// NewMetrics registers the HTTP series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

// Observe logs one JSON line per request (method, route pattern, status, duration,
// request id; never bodies, queries or tokens) and counts it in the metrics.
func Observe(logger *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ctx, rt := withRoute(logging.WithLogger(r.Context(), logger))
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			m.inflight.Inc()
			defer func() {
				m.inflight.Dec()
				elapsed := time.Since(start)
				pattern := rt.pattern
				if pattern == "" {
					pattern = "unmatched"
				}
				status := strconv.Itoa(rec.status)
				m.requests.WithLabelValues(pattern, r.Method, status).Inc()
				m.duration.WithLabelValues(pattern, r.Method).Observe(elapsed.Seconds())
				level := slog.LevelInfo
				if rec.status >= 500 {
					level = slog.LevelError
				}
				logger.LogAttrs(ctx, level, "request",
					slog.String("method", r.Method),
					slog.String("route", pattern),
					slog.Int("status", rec.status),
					slog.Int64("bytes", rec.bytes),
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000))
			}()
			next.ServeHTTP(rec, r.WithContext(ctx))
		})
	}
}
