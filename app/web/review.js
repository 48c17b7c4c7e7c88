// MedEvidence clinician page: reviewers' warnings on an answer, and the review controls a reviewer sees on it.
// Follows app.js's answer events ("medevidence:event"); helpers in dom.js; no framework, no request outside this
// server.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const VERDICTS = [
    ["correct", "Correct"],
    ["incorrect", "Incorrect"],
    ["unsafe", "Unsafe"],
  ];

  // -- who is asking: review controls for reviewers only -----------------------------------------
  let me = null;
  async function whoAmI() {
    try {
      const response = await fetch("/v1/me", { headers: headers(false) });
      me = response.ok ? await response.json() : null;
    } catch (_) {
      me = null;
    }
    $("#review-link").hidden = !(me && me.can_review);
    return me;
  }
  $("#api-key").addEventListener("change", whoAmI);
  whoAmI();

  // -- reviewers' warnings on the evidence this answer cites --------------------------------------
  function renderNotes(notes) {
    const box = $("#review-notes");
    if (!notes || !notes.length) { box.hidden = true; box.replaceChildren(); return; }
    box.replaceChildren(
      el("h2", {}, "⚠ Reviewer warning: an earlier answer citing this evidence was marked unsafe"),
      ...notes.map((n) => el("div", { class: "review-note", "data-review-id": n.review_id },
        el("p", { class: "note-text" }, n.note),
        n.corrected_text ? el("p", { class: "note-correction" }, el("strong", {}, "Reviewer's correction: "),
          n.corrected_text) : null,
        el("p", { class: "meta" }, `${n.reviewer} · ${when(n.reviewed_at)} · ${n.status === "open" ? "open flag" : "confirmed"}` +
          ` · evidence ${n.evidence.map((e) => `[${e.n}]`).join(" ")}`))));
    box.hidden = false;
  }

  // -- the review controls -------------------------------------------------------------------------
  function reviewSummary(r) {
    return `Your review: ${r.verdict} (${r.status}${r.outcome && r.status === "resolved" ? `, ${r.outcome}` : ""})` +
      ` · revision ${r.revision} · ${when(r.updated_at)}`;
  }

  async function renderReviewBox(answerId) {
    const box = $("#review-box");
    box.hidden = true;
    box.replaceChildren();
    if (!me) await whoAmI();
    if (!me || !me.can_review) return;
    let mine = null;
    const existing = await fetch(`/v1/answers/${encodeURIComponent(answerId)}/reviews`, { headers: headers(false) });
    if (existing.ok) mine = (await existing.json()).reviews.find((r) => r.reviewer === me.caller) || null;
    const status = el("p", { class: "status", role: "status", "aria-live": "polite" }, mine ? reviewSummary(mine) : "");
    const reason = el("textarea", { id: "review-reason", rows: 3, maxlength: 4000 });
    const corrected = el("textarea", { id: "review-corrected", rows: 4, maxlength: 8000 });
    const radios = VERDICTS.map(([value, label]) => el("label", { class: `verdict ${value}` },
      el("input", { type: "radio", name: "verdict", value, required: true }), ` ${label}`));
    if (mine) {
      const current = radios.find((r) => r.querySelector("input").value === mine.verdict);
      if (current) current.querySelector("input").checked = true;
      reason.value = mine.reason;
      if (mine.corrected) corrected.value = mine.corrected.text;
    }
    const button = el("button", { type: "submit" }, mine ? "Revise review" : "Submit review");
    const form = el("form", { class: "review-form" },
      el("fieldset", { class: "verdicts" }, el("legend", {}, "Verdict"), radios),
      el("label", { for: "review-reason" }, "Reason (required for incorrect and unsafe; shown with later answers " +
        "citing this evidence when unsafe)"),
      reason,
      el("details", { open: Boolean(mine && mine.corrected) },
        el("summary", {}, "Corrected text (optional)"),
        el("label", { for: "review-corrected" }, "What the answer should say: end every sentence with the number " +
          "of the evidence passage that states it, e.g. [1]"),
        corrected),
      button, status);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const verdict = (form.querySelector('input[name="verdict"]:checked') || {}).value;
      const body = { verdict, reason: reason.value.trim() };
      if (corrected.value.trim()) body.corrected_text = corrected.value.trim();
      const path = mine ? `/v1/reviews/${mine.review_id}/revisions` : `/v1/answers/${encodeURIComponent(answerId)}/reviews`;
      button.disabled = true;
      document.body.dataset.reviewState = "pending";
      try {
        const response = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body) });
        if (!response.ok) {
          status.className = "status warn";
          status.textContent = `Not recorded: ${await errorText(response)}`;
          document.body.dataset.reviewState = "error";
          return;
        }
        mine = await response.json();
        status.className = "status";
        status.textContent = reviewSummary(mine);
        button.textContent = "Revise review";
        document.body.dataset.reviewState = "saved";
      } finally {
        button.disabled = false;
      }
    });
    box.replaceChildren(el("h2", { id: "review-heading" }, "Review this answer"), form);
    box.hidden = false;
  }

  document.addEventListener("medevidence:event", (ev) => {
    const { name, data } = ev.detail;
    if (name === "evidence") { renderNotes([]); $("#review-box").hidden = true; }
    else if (name === "review_notes") renderNotes(data.review_notes);
    else if (name === "done") {
      renderNotes(data.review_notes);
      renderReviewBox(data.answer_id).catch(() => { $("#review-box").hidden = true; });
    }
  });
  $("#ask-form").addEventListener("submit", () => { renderNotes([]); $("#review-box").hidden = true; });
})();
