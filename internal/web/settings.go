package web

import "net/http"

// showSettings lists the effective settings, secrets masked by
// config (what the log's settings line shows). A read-only session sees
// them too: nothing secret is on the page.
func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "settings", "Settings", "settings", h.settings)
}
