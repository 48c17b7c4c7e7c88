// MedEvidence EMR side panel: reviewers' warnings on an answer and, for a session with a reviewer identity (a
// launch by a user in MEDEVIDENCE_EMR_REVIEWERS; the demo in dev mode), the review controls. Uses panel.js's
// api(), el() and setStatus() (loaded before this file).
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);

  function renderNotes(notes) {
    const box = byId("review-notes");
    if (!notes || !notes.length) { box.hidden = true; box.replaceChildren(); return; }
    box.replaceChildren(el("h3", {}, "⚠ Reviewer warning: an earlier answer citing this evidence was marked unsafe"),
      ...notes.map((n) => el("div", { class: "review-note", "data-review-id": n.review_id },
        el("p", { class: "note-text" }, n.note),
        n.corrected_text ? el("p", {}, el("strong", {}, "Reviewer's correction: "), n.corrected_text) : null,
        el("p", { class: "meta" }, `${n.reviewer} · ${new Date(n.reviewed_at).toLocaleString()} · evidence ` +
          n.evidence.map((e) => `[${e.n}]`).join(" ")))));
    box.hidden = false;
  }

  function renderReviewBox(result) {
    const box = byId("review-box");
    box.replaceChildren();
    box.hidden = document.body.dataset.canReview !== "true";
    if (box.hidden) return;
    const verdicts = ["correct", "incorrect", "unsafe"].map((v) => el("label", {},
      el("input", { type: "radio", name: "panel-verdict", value: v, required: true }), ` ${v}`));
    const reason = el("textarea", { id: "panel-review-reason", rows: "2", maxlength: "4000" });
    const corrected = el("textarea", { id: "panel-review-corrected", rows: "3", maxlength: "8000" });
    const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
    const button = el("button", { type: "submit" }, "Submit review");
    const form = el("form", {},
      el("fieldset", {}, el("legend", {}, "Verdict"), verdicts),
      el("label", { for: "panel-review-reason" }, "Reason (required for incorrect and unsafe)"), reason,
      el("label", { for: "panel-review-corrected" }, "Corrected text (optional; cite the evidence as [n])"), corrected,
      button, status);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { verdict: form.querySelector('input[name="panel-verdict"]:checked').value, reason: reason.value.trim() };
      if (corrected.value.trim()) body.corrected_text = corrected.value.trim();
      button.disabled = true;
      try {
        const review = await api(`/emr/api/answers/${encodeURIComponent(result.answer_id)}/reviews`,
          { method: "POST", body: JSON.stringify(body) });
        setStatus(status, `Review recorded: ${review.verdict} (${review.status}) · revision ${review.revision}`);
        button.textContent = "Revise review";
        document.body.dataset.reviewState = "saved";
      } catch (e) {
        setStatus(status, `Not recorded: ${e.message}`, true);
        document.body.dataset.reviewState = "error";
      } finally {
        button.disabled = false;
      }
    });
    box.append(el("h3", { id: "review-heading" }, "Review this answer"), form);
  }

  document.addEventListener("medevidence:answer", (ev) => {
    renderNotes(ev.detail.review_notes);
    renderReviewBox(ev.detail);
  });
})();
