package api

import (
	"encoding/json"
	"net/http"
)

// writeJSON sends v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// writeSecret sends a response that carries a token or secret: never cached.
func writeSecret(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	return writeJSON(w, status, v)
}

// noContent sends 204.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// List is the envelope of every list response.
type List[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func newList[T any](items []T, next string) List[T] {
	if items == nil {
		items = []T{}
	}
	l := List[T]{Items: items}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}

// servePage answers one page of a list: it fetches limit+1 items after the cursor, serves
// limit of them as views, and makes the key of the last one the next cursor.
func servePage[S, V any](w http.ResponseWriter, r *http.Request, fetch func(cursor string, limit int) ([]S, error),
	key func(*S) string, view func(*S) V) error {
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	items, err := fetch(cursor, limit+1)
	if err != nil {
		return domainError(err)
	}
	next := ""
	if len(items) > limit {
		items, next = items[:limit], key(&items[limit-1])
	}
	out := make([]V, len(items))
	for i := range items {
		out[i] = view(&items[i])
	}
	return writeJSON(w, http.StatusOK, newList(out, next))
}
