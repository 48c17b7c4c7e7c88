// MedEvidence clinician page: ask (streamed, cited), evidence cards, drug cards, interaction checks.
// No framework, no external request: everything this page loads comes from this server. Helpers in dom.js.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const metrics = (window.__medevidence = { submitAt: 0, firstEvidenceMs: null, firstDeltaMs: null, doneMs: null });

// -- tabs -------------------------------------------------------------------------------------
const tabs = [...document.querySelectorAll('[role="tab"]')];
function selectTab(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
  }
  tab.focus();
}
for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (ev) => {
    const i = tabs.indexOf(tab);
    if (ev.key === "ArrowRight") selectTab(tabs[(i + 1) % tabs.length]);
    if (ev.key === "ArrowLeft") selectTab(tabs[(i - 1 + tabs.length) % tabs.length]);
  });
}

// -- evidence cards ---------------------------------------------------------------------------
const evidenceByN = new Map();

function sourceLink(ev) {
  if (!ev.url) return null;
  const label = ev.doc_id.startsWith("pubmedqa:") ? `PubMed ${ev.doc_id.split(":")[1]}`
    : ev.url.includes("setid=") ? `DailyMed ${ev.url.split("setid=")[1].slice(0, 8)}…` : "source";
  return el("a", { href: ev.url, rel: "noopener noreferrer", target: "_blank" }, label);
}

// The original file a hospital document was indexed from, opened at its page: a plain link when no API key is
// set, else fetched with the key (a link cannot send it) and opened from memory at the same page.
function fileHref(docId, page) {
  return `/v1/documents/${docId.split("/").map(encodeURIComponent).join("/")}/file${page ? `#page=${page}` : ""}`;
}

function pageLabel(pages) {
  if (!pages || !pages.length) return null;
  const first = pages[0][0], last = pages[pages.length - 1][0];
  return first === last ? `p. ${first}` : `pp. ${first}-${last}`;
}

async function openOriginal(event) {
  const link = event.currentTarget;
  if (!$("#api-key").value.trim()) return; // the browser follows the link
  event.preventDefault();
  const [path, fragment] = link.getAttribute("href").split("#");
  const response = await fetch(path, { headers: headers(false) });
  if (!response.ok) { link.textContent = `file: ${await errorText(response)}`; return; }
  const url = URL.createObjectURL(await response.blob());
  window.open(fragment ? `${url}#${fragment}` : url, "_blank", "noopener");
}

function originalLink(ev) {
  if (!ev.original) return null;
  const page = ev.pages && ev.pages.length ? ev.pages[0][0] : null;
  const label = pageLabel(ev.pages);
  return el("a", { href: fileHref(ev.doc_id, page), class: "original", target: "_blank", rel: "noopener",
    onclick: openOriginal }, label ? `original file, ${label}` : "original file");
}

function whyRetrieved(channels) {
  const parts = Object.entries(channels || {}).filter(([, v]) => v).map(([k, v]) => `${k} #${Math.round(v.rank)}`);
  return parts.length ? `why retrieved: ${parts.join(", ")}` : "";
}

function guidelineNote(g) {
  if (!g) return null;
  const who = `${g.developer}${g.year ? `, ${g.year}` : ""}`;
  return el("div", { class: "guideline-note" },
    el("span", {}, `Guideline: ${who}`),
    g.grades.length ? el("span", { class: "grade" }, `graded ${g.grades.join(" / ")}`) : null,
    g.caveat ? el("span", { class: "caveat", role: "note" }, `⚠ ${g.caveat}`) : null);
}

function renderEvidence(list) {
  const ol = $("#evidence");
  ol.replaceChildren();
  evidenceByN.clear();
  $("#evidence-heading").hidden = list.length === 0;
  for (const ev of list) {
    // A passage scrolls (max-height): focusable, so a keyboard reaches all of it (WCAG 2.1.1).
    const passage = el("p", { class: "passage", tabindex: "0", "aria-label": `Passage [${ev.n}]` }, ev.text);
    const card = el("li", { class: "card", id: `ev-${ev.n}`, tabindex: "-1", "aria-label": `Evidence ${ev.n}` },
      el("h3", {}, `[${ev.n}] ${ev.title}`),
      el("div", { class: "meta" },
        el("span", { class: `badge ${ev.source_type}` }, ev.source_type),
        el("span", {}, ev.section),
        pageLabel(ev.pages) ? el("span", { class: "page" }, pageLabel(ev.pages)) : null,
        ev.published ? el("span", {}, ev.published) : null,
        el("span", {}, ev.evidence_level),
        sourceLink(ev),
        originalLink(ev)),
      guidelineNote(ev.guideline),
      passage,
      el("div", { class: "why" }, whyRetrieved(ev.channels)));
    evidenceByN.set(ev.n, { ev, card, passage });
    ol.append(card);
  }
}

function highlightQuotes(citations) {
  for (const c of citations) {
    const item = evidenceByN.get(c.n);
    if (!item) continue;
    const text = item.ev.text;
    const a = c.start - item.ev.start;
    const b = c.end - item.ev.start;
    if (a < 0 || b > text.length || text.slice(a, b) !== c.quote) continue; // never mark what is not the quote
    item.passage.replaceChildren(text.slice(0, a), el("mark", {}, text.slice(a, b)), text.slice(b));
    const original = item.card.querySelector("a.original");
    if (original && c.page) { // the cited page, not the passage's first
      original.setAttribute("href", fileHref(c.doc_id, c.page));
      original.textContent = `original file, ${c.page_label}${c.ocr ? " (OCR)" : ""}`;
    }
    const copy = el("button", { type: "button", class: "link", "aria-label": `Copy citation ${c.n}` }, "copy citation");
    copy.addEventListener("click", () => copyCitation(c, copy));
    item.card.append(copy);
  }
}

function copyCitation(c, button) {
  const text = `"${c.quote}" — ${c.title}, ${c.section}${c.page_label ? `, ${c.page_label}` : ""} (${c.doc_id}, version ${c.version}, chars ${c.start}-${c.end})` +
    (c.url ? ` ${c.url}` : "");
  const done = () => { button.textContent = "copied"; };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, done);
  else { const t = el("textarea", {}, text); document.body.append(t); t.select(); document.execCommand("copy"); t.remove(); done(); }
}

function focusEvidence(n, scroll) {
  for (const { card } of evidenceByN.values()) card.classList.remove("active");
  const item = evidenceByN.get(n);
  if (!item) return;
  item.card.classList.add("active");
  if (scroll) { item.card.scrollIntoView({ behavior: "smooth", block: "center" }); item.card.focus({ preventScroll: true }); }
}

// -- the answer, streamed ------------------------------------------------------------------------
function appendAnswer(text) {
  const answer = $("#answer");
  const re = /\[(\d{1,3})\]/g;
  let last = 0;
  for (let m; (m = re.exec(text));) {
    if (m.index > last) answer.append(text.slice(last, m.index));
    const n = Number(m[1]);
    const cite = el("button", { type: "button", class: "cite", "aria-label": `Show evidence ${n}`, "data-n": n }, `[${n}]`);
    cite.addEventListener("click", () => focusEvidence(n, true));
    cite.addEventListener("mouseenter", () => focusEvidence(n, false));
    answer.append(cite);
    last = re.lastIndex;
  }
  if (last < text.length) answer.append(text.slice(last));
}

function readFilters(form) {
  const types = [...form.querySelectorAll('input[name="source_type"]:checked')].map((i) => i.value);
  const f = {};
  if (types.length) f.source_type = types;
  if ($("#published-from").value) f.published_from = $("#published-from").value;
  if ($("#language").value) f.language = $("#language").value;
  return Object.keys(f).length ? f : null;
}

async function ask(question, filters) {
  const status = $("#status");
  const answer = $("#answer");
  status.className = "status";
  status.textContent = "Searching the evidence…";
  answer.replaceChildren();
  answer.hidden = true;
  answer.classList.remove("abstained");
  $("#trace").hidden = true;
  renderEvidence([]);
  metrics.submitAt = performance.now();
  metrics.firstEvidenceMs = metrics.firstDeltaMs = metrics.doneMs = null;
  const body = { question, stream: true };
  if (filters) body.filters = filters;
  const response = await fetch("/v1/ask", { method: "POST", headers: { ...headers(), Accept: "text/event-stream" },
                                            body: JSON.stringify(body) });
  if (!response.ok) { status.className = "status warn"; status.textContent = await errorText(response); return; }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const name = (block.match(/^event: (.*)$/m) || [])[1];
      const data = (block.match(/^data: (.*)$/m) || [])[1];
      if (name && data) handleEvent(name, JSON.parse(data));
    }
  }
}

// Why an answer abstained (the answer's abstain_case), as the status line says it.
const ABSTAIN_CASES = {
  unknown_name: "the knowledge names nothing by that name",
  no_label: "no label of this drug is indexed",
  aspect_not_addressed: "its labels do not address what was asked",
  pair_not_addressed: "no passage speaks of these drugs together",
  below_relevance_floor: "no evidence is close enough to the question",
  model_insufficient: "the model found the evidence insufficient",
  no_supported_claim: "no sentence of the answer was supported by the evidence",
};

function renderRelated(list) {
  const ul = $("#related");
  ul.replaceChildren();
  $("#related-heading").hidden = !list || list.length === 0;
  for (const r of list || []) {
    ul.append(el("li", {}, `${r.title} — ${r.section} `, el("small", {}, `(${r.source_type}; ${r.doc_id})`)));
  }
}

function focusText(focus) {
  if (!focus || (!focus.drugs.length && !focus.classes.length)) return null;
  const names = [...focus.drugs.map((d) => d.matched_by === "misspelling" || d.matched_by === "abbreviation"
    ? `${d.name} (read from “${d.surface}”)` : d.name), ...focus.classes.map((c) => c.name)];
  return `about ${names.join(" and ")} · asks: ${focus.aspect.replace(/_/g, " ")}`;
}

function handleEvent(name, data) {
  const status = $("#status");
  const answer = $("#answer");
  if (name === "evidence") {
    renderEvidence(data.evidence);
    renderRelated(data.related);
    metrics.firstEvidenceMs = performance.now() - metrics.submitAt;
    status.textContent = `${data.evidence.length} passages found; writing a cited answer…`;
  } else if (name === "delta") {
    if (metrics.firstDeltaMs === null) metrics.firstDeltaMs = performance.now() - metrics.submitAt;
    answer.hidden = false;
    appendAnswer(data.text);
  } else if (name === "citations") {
    highlightQuotes(data.citations);
  } else if (name === "done") {
    metrics.doneMs = performance.now() - metrics.submitAt;
    const parts = [`${data.mode === "llm" ? `written by ${data.model}` : "quoted from the evidence (extractive)"}`];
    if (data.degraded) parts.push("the language model was unavailable, so the answer quotes the evidence");
    const about = focusText(data.focus);
    if (about) parts.push(about);
    if (data.abstained) {
      parts.push(`no answer (${ABSTAIN_CASES[data.abstain_case] || data.abstain_case}): ${data.abstain_reason}`);
      answer.classList.add("abstained");
    }
    status.className = data.degraded || data.abstained ? "status warn" : "status";
    status.textContent = parts.join(" · ");
    const trace = $("#trace");
    trace.replaceChildren("Trace: ", el("a", { href: `/v1/answers/${data.answer_id}`, target: "_blank" }, data.answer_id),
      ` · ${data.citations.length} citations · ${Math.round(data.timings_ms.total)} ms`);
    trace.hidden = false;
    document.body.dataset.answerState = data.abstained ? "abstained" : "answered";
  } else if (name === "error") {
    status.className = "status warn";
    status.textContent = `The answer failed: ${data.error.message}`;
    document.body.dataset.answerState = "error";
  }
  // review.js (reviewers' notes and controls) follows the answer's events
  document.dispatchEvent(new CustomEvent("medevidence:event", { detail: { name, data } }));
}

$("#ask-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  document.body.dataset.answerState = "pending";
  const question = $("#question").value.trim();
  if (question) ask(question, readFilters(ev.target)).catch((e) => {
    $("#status").className = "status warn";
    $("#status").textContent = `The answer failed: ${e.message}`;
    document.body.dataset.answerState = "error";
  });
});

// -- drugs ---------------------------------------------------------------------------------------
function citationBlock(c) {
  return el("blockquote", {}, c.quote, el("br"),
    el("small", {}, `${c.title} — ${c.section} (${c.doc_id} [${c.start}:${c.end}]${c.effective_date ? `, ${c.effective_date}` : ""})`));
}

// A hospital rule, beside (never instead of) the national sources: its words, who made it, when, and its citation.
function localRuleBlock(r, what) {
  return el("div", { class: "local-rule", "data-rule-id": r.rule_id },
    el("p", {}, el("span", { class: "tag local" }, "local rule"), " ", el("strong", {}, r.rule_id), ` · ${what} · ${r.source}, effective ${r.effective}`),
    r.management ? el("p", { class: "meta" }, `What to do: ${r.management}`) : null,
    citationBlock(r.citation));
}

function localRulesSection(local) {
  if (!local || !local.rules.length) return null;
  const f = local.formulary;
  return el("section", { class: "local-rules", "aria-label": "Local rules" },
    el("h4", {}, "This hospital's rules"),
    f ? el("p", { class: `formulary ${f.status}` }, `Formulary: ${f.status}` +
      (f.alternatives.length ? ` — alternatives: ${f.alternatives.join(", ")}` : "")) : null,
    local.rules.map((r) => localRuleBlock(r, `${r.kind.replace("_", " ")}, ` +
      (r.superseded ? "superseded" : r.in_effect ? "in effect" : "not yet in effect"))));
}

$("#drug-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = $("#drug-status");
  const out = $("#drug-card");
  out.replaceChildren();
  const name = $("#drug-name").value.trim();
  const response = await fetch(`/v1/drugs/${encodeURIComponent(name)}`, { headers: headers(false) });
  if (!response.ok) { status.textContent = await errorText(response); return; }
  const card = await response.json();
  status.textContent = `${name} → ${card.name} (${card.matched_by})`;
  out.append(el("div", { class: "card" },
    el("h3", {}, `${card.name} · ${card.ids.drugbank}${card.ids.unii ? ` · UNII ${card.ids.unii}` : ""}`),
    el("p", { class: "meta" }, `names: ${card.names.en.join(", ")}; 中文: ${card.names.zh.join("、") || "—"}; brands: ${card.names.brands.join(", ") || "—"}`),
    el("p", { class: "meta" }, `classes: ${card.classes.map((c) => c.name).join(", ") || "—"}`),
    el("p", { class: "coverage", role: "note" }, card.coverage.summary),
    el("p", { class: "meta" }, `indications: ${card.indications.map((i) => `${i.disease} (${i.category})`).join("; ") || "—"}`),
    localRulesSection(card.local_rules),
    card.labels.map((label) => el("details", {},
      el("summary", {}, `${label.title} [${label.source}]${label.effective_date ? ` — effective ${label.effective_date}` : ""}` +
        `${label.label_version ? ` — ${label.label_version}` : ""}`),
      label.sections.map((s) => el("details", {}, el("summary", {}, `${s.kind.replace("_", " ")}: ${s.section}`), citationBlock(s)))))));
});

$("#interactions-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = $("#drug-status");
  const out = $("#interactions");
  out.replaceChildren();
  const medications = $("#medications").value.split(/[\n,;，；、]+/).map((s) => s.trim()).filter(Boolean);
  const response = await fetch("/v1/interactions", { method: "POST", headers: headers(), body: JSON.stringify({ medications }) });
  if (!response.ok) { status.textContent = await errorText(response); return; }
  const result = await response.json();
  const unresolved = result.unresolved.map((u) => `${u.input}${u.suggestions.length ? ` (did you mean ${u.suggestions.join(", ")}?)` : ""}`);
  status.textContent = `${result.resolved.map((r) => `${r.input} → ${r.name}`).join("; ")}` +
    (unresolved.length ? ` · not recognised: ${unresolved.join("; ")}` : "");
  const rows = result.interactions.map((p) => {
    const sev = p.severity || ((p.local_rules || []).length ? "local" : "none");
    return el("tr", { class: `sev-${sev}` },
      el("td", {}, `${p.a} + ${p.b}`),
      el("td", {}, el("span", { class: `sev ${sev}` }, p.severity || (sev === "local" ? "local rule only" : "none found")), el("br"), el("small", {}, p.severity_source || ""),
        ...(p.sources || []).length > 1 ? [el("br"), el("small", { class: "graded-by" },
          "Graded by: " + p.sources.map((g) => `${g.source}: ${g.severity}`).join("; "))] : []),
      el("td", {}, (p.local_rules || []).map((r) => localRuleBlock(r, `${r.severity} (local scale)`)),
        el("details", {}, el("summary", {}, p.summary), p.citations.map((c) =>
          c.quote ? citationBlock(c) : el("blockquote", {}, `${c.source}: ${c.reference}`)))));
  });
  out.append(el("table", { id: "interaction-table" },
    el("caption", { class: "visually-hidden" }, "Interactions by pair"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Pair"), el("th", { scope: "col" }, "Severity"),
      el("th", { scope: "col" }, "Evidence"))),
    el("tbody", {}, rows)));
});
