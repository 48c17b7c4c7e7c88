// MedEvidence review queue (/review): flagged answers with their evidence; a reviewer resolves each flag.
// Helpers in dom.js; no framework, no request outside this server.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const PAGE = 20;
let offset = 0;

function setStatus(text, warn = false) {
  const line = $("#queue-status-line");
  line.className = warn ? "status warn" : "status";
  line.textContent = text;
}

function citationQuote(c) {
  return el("blockquote", {}, c.quote, el("br"),
    el("small", {}, `[${c.n}] ${c.title} — ${c.section} (${c.doc_id}, version ${String(c.version).slice(0, 12)}, ` +
      `chars ${c.start}-${c.end})`));
}

function evidenceList(evidence) {
  return el("ol", { class: "evidence" }, evidence.map((e) => el("li", { class: "card" },
    el("h3", {}, `[${e.n}] ${e.title}`),
    el("div", { class: "meta" }, el("span", {}, e.section), el("span", {}, e.doc_id),
      el("span", {}, `chars ${e.start}-${e.end}`)),
    el("p", { class: "passage", tabindex: "0" }, e.text))));  // scrollable: reachable by keyboard
}

function historyList(history) {
  return el("ol", {}, history.map((h) => el("li", {},
    `${when(h.at)} — ${h.by_name}: ${h.action} (revision ${h.revision}): ${h.verdict}` +
    (h.action === "resolved" ? `, ${h.outcome}: ${h.resolution}` : h.reason ? ` — ${h.reason}` : ""))));
}

function resolveForm(review, card) {
  const id = `resolve-${review.review_id}`;
  const note = el("textarea", { id: `${id}-note`, rows: 2, maxlength: 4000, required: true });
  const outcome = el("select", { id: `${id}-outcome` },
    el("option", { value: "confirmed" }, "confirmed — the flag stands (later answers keep the warning)"),
    el("option", { value: "dismissed" }, "dismissed — the answer was fine after all"));
  const button = el("button", { type: "submit" }, "Resolve");
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const form = el("form", { class: "resolve-form", "aria-label": `Resolve review ${review.review_id.slice(0, 8)}` },
    el("label", { for: `${id}-note` }, "Resolution note (what was done)"), note,
    el("label", { for: `${id}-outcome` }, "Outcome"), outcome, button, status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    const response = await fetch(`/v1/reviews/${review.review_id}/resolve`, {
      method: "POST", headers: headers(), body: JSON.stringify({ note: note.value.trim(), outcome: outcome.value }) });
    button.disabled = false;
    if (!response.ok) { status.className = "status warn"; status.textContent = await errorText(response); return; }
    card.replaceWith(reviewCard(await response.json()));
    document.body.dataset.queueState = "resolved";
  });
  return form;
}

function reviewCard(r) {
  const a = r.answer;
  const card = el("li", { class: `review-card ${r.verdict}`, "data-review-id": r.review_id, "data-status": r.status },
    el("h2", {}, el("span", { class: `verdict-badge ${r.verdict}` }, r.verdict), " ", a.question),
    el("p", { class: "meta" }, `Reviewed by ${r.reviewer_name} · ${when(r.updated_at)} · revision ${r.revision} · ` +
      `${r.status}${r.status === "resolved" ? ` (${r.outcome}) by ${r.resolved_by_name}, ${when(r.resolved_at)}` : ""}` +
      ` · answer ${r.answer_id.slice(0, 8)} of ${when(a.created_at)}`),
    el("p", { class: "review-reason" }, el("strong", {}, "Reason: "), r.reason || "—"),
    r.resolution && r.status === "resolved" ? el("p", {}, el("strong", {}, "Resolution: "), r.resolution) : null,
    el("h3", {}, a.abstained ? "The answer (an abstention)" : "The answer"),
    el("p", { class: "reviewed-answer" }, a.answer),
    a.citations.length ? el("details", { open: true }, el("summary", {}, `Its citations (${a.citations.length})`),
      a.citations.map(citationQuote)) : null,
    r.corrected ? el("div", { class: "correction" }, el("h3", {}, "Reviewer's corrected text"),
      el("p", { class: "reviewed-answer" }, r.corrected.text), r.corrected.citations.map(citationQuote)) : null,
    el("details", {}, el("summary", {}, `The evidence it was given (${a.evidence.length} passages)`),
      evidenceList(a.evidence)),
    el("details", {}, el("summary", {}, `History (${(r.history || []).length} entries)`),
      historyList(r.history || [])));  // el() leaves out the parts that are null
  if (r.status === "open") card.append(resolveForm(r, card));
  return card;
}

let latest = 0; // the newest load: an older one's late answer must not replace what it shows
let loadedWith = null; // the API key of the newest load

async function load(append = false) {
  const mine = ++latest;
  loadedWith = $("#api-key").value.trim();
  if (!append) offset = 0;
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if ($("#queue-status").value) params.set("status", $("#queue-status").value);
  if ($("#queue-verdict").value) params.set("verdict", $("#queue-verdict").value);
  setStatus("Loading…");
  document.body.dataset.queueState = "loading";
  const response = await fetch(`/v1/reviews?${params}`, { headers: headers(false) });
  if (mine !== latest) return;
  if (!response.ok) {
    setStatus(response.status === 403 ? "This page is for reviewers: enter a reviewer key." : await errorText(response), true);
    document.body.dataset.queueState = "error";
    return;
  }
  const page = await response.json();
  if (mine !== latest) return;
  const list = $("#queue");
  const ids = new Set([...list.children].map((li) => li.dataset.reviewId));
  if (!append) list.replaceChildren();
  for (const r of page.reviews) if (!append || !ids.has(r.review_id)) list.append(reviewCard(r));
  offset += page.reviews.length;
  $("#queue-more").hidden = offset >= page.total;
  setStatus(`${page.total} review(s)${page.total ? `, ${list.children.length} shown` : ""}`);
  document.body.dataset.queueState = "ready";
}

$("#queue-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
$("#queue-more").addEventListener("click", () => load(true));
// A new key loads the queue again; the same key does not (a "change" on blur would close what the reviewer opened).
$("#api-key").addEventListener("change", () => { if ($("#api-key").value.trim() !== loadedWith) load(); });
load();
