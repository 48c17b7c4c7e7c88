// MedEvidence EMR side panel: the patient's medications, cited interaction alerts, questions in context.
// The panel session id arrives in the URL fragment once; it is kept in sessionStorage, removed from the URL and
// sent as the X-MedEvidence-Panel header. No cookie, no framework, no request outside this server.
"use strict";

const $ = (sel) => document.querySelector(sel);
const SESSION_KEY = "medevidence.panel.session";
const INDICATOR_TEXT = { critical: "Critical", warning: "Warning", info: "Info" };
const ROLE_TEXT = { prescribed: "prescribed (MedicationRequest)", reported: "reported (MedicationStatement)" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== "") node.append(child);
  return node;
}

function takeSession() {
  const found = location.hash.match(/(?:^#|&)session=([A-Za-z0-9_-]{16,128})/);
  if (found) {
    sessionStorage.setItem(SESSION_KEY, found[1]);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(SESSION_KEY);
}

const session = takeSession();

async function api(path, options = {}) {
  const headers = { "X-MedEvidence-Panel": session || "", ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const response = await fetch(path, { ...options, headers, credentials: "omit", cache: "no-store" });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    const e = (body && body.error) || {};
    const error = new Error(response.status === 401 ? "The panel session has ended: open the panel from the EHR again."
      : e.message || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function setStatus(node, text, warn = false) {
  node.className = warn ? "status warn" : "status";
  node.textContent = text;
}

// -- cited evidence ----------------------------------------------------------------------------------
function sourceLink(url) {
  if (!url || !/^https:\/\//.test(url)) return null;
  return el("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, "source");
}

function citationItem(c, id) {
  if (!c.quote) { // an interaction-list fact whose table section could not be cut: name the source plainly
    return el("li", { id }, el("p", { class: "cite-meta" }, `${c.source || "source"}: ${c.reference || ""}`));
  }
  const version = c.version ? String(c.version).slice(0, 12) : "—";
  return el("li", { id, tabindex: "-1", "data-doc-id": c.doc_id, "data-start": c.start, "data-end": c.end,
                   "data-version": c.version },
    el("blockquote", { class: "quote" }, c.quote),
    el("p", { class: "cite-meta" },
      el("span", { class: "doc-title" }, c.title || c.doc_id), " — ",
      el("span", { class: "section" }, c.section || ""), " · ",
      el("span", { class: "span" }, `chars ${c.start}–${c.end}`), " · ",
      el("span", { class: "version" }, `version ${version}`), " · ",
      el("span", { class: "doc-id" }, c.doc_id), " ",
      sourceLink(c.url)));
}

// -- the panel -------------------------------------------------------------------------------------
function renderBanner(banner) {
  const node = $("#banner");
  if (!banner) { node.hidden = true; return; }
  const extra = [banner.gender, banner.birth_date ? `born ${banner.birth_date}` : null].filter(Boolean).join(", ");
  node.replaceChildren(el("span", { class: "name" }, banner.name), extra ? ` · ${extra}` : "",
    banner.synthetic ? el("span", { class: "synthetic" }, "synthetic data") : null);
  node.hidden = false;
}

function renderMedications(medications) {
  $("#medications").replaceChildren(...medications.map((m) => {
    const resolved = m.resolved
      ? el("div", {}, "→ ", el("strong", {}, m.drugs.map((d) => d.name).join(" + ")),
        el("span", { class: "meta" }, ` (${m.drugs.map((d) => d.drug_id).join(", ")}; matched by ${m.matched_by})`))
      : el("div", {}, el("span", { class: "tag" }, "not recognised"), " interactions not checked");
    return el("li", { class: m.resolved ? "resolved" : "not-recognised" },
      el("div", { class: "label" }, m.label), resolved,
      el("div", { class: "meta" }, [m.status, ROLE_TEXT[m.role] || m.role].filter(Boolean).join(" · ")));
  }));
  if (!medications.length) $("#medications").append(el("li", {}, "No active medications were found in the record."));
}

function renderAlerts(alerts, pairsChecked) {
  const list = $("#alerts");
  list.replaceChildren(...alerts.map((a, i) => {
    const citations = a.citations.map((c, j) => citationItem(c, `alert-${i}-cite-${j}`));
    return el("li", { class: `alert ${a.indicator}`, "data-indicator": a.indicator },
      el("div", {}, el("span", { class: `indicator ${a.indicator}` }, INDICATOR_TEXT[a.indicator] || a.indicator),
        el("span", { class: "pair" }, `${a.a} + ${a.b}`),
        a.focus ? el("span", { class: "focus" }, " · from the EHR alert") : null),
      a.severity ? el("p", { class: "meta" }, `${a.severity_source} (severity ${a.severity})`)
        : el("p", { class: "meta" }, "No national source grades this pair; a local rule of this hospital does."),
      (a.local_rules || []).map((r, j) => el("div", { class: "local-rule", "data-rule-id": r.rule_id },
        el("p", {}, el("span", { class: "tag local" }, "local rule"), " ", el("strong", {}, r.rule_id),
          ` · ${r.severity} · ${r.source}, effective ${r.effective}`),
        r.management ? el("p", { class: "meta" }, `What to do: ${r.management}`) : null,
        el("ol", { class: "evidence" }, citationItem(r.citation, `alert-${i}-rule-${j}`)))),
      (a.sources || []).length > 1 ? el("p", { class: "meta graded-by" },
        "Graded by: " + a.sources.map((g) => `${g.source}: ${g.severity}`).join("; ")) : null,
      el("p", { class: "summary" }, a.summary),
      el("details", {}, el("summary", {}, `Cited evidence (${a.citations.length})`),
        el("ol", { class: "evidence" }, citations)));
  }));
  const none = pairsChecked - alerts.length;
  $("#alerts-summary").textContent = alerts.length
    ? `${alerts.length} interaction${alerts.length > 1 ? "s" : ""}, most urgent first; ${none} other pair(s) had no ` +
      "interaction in the indexed knowledge (which does not mean they are safe)."
    : pairsChecked ? `No interaction found among ${pairsChecked} pair(s) in the indexed knowledge (which does not ` +
      "mean they are safe)." : "Fewer than two recognised medications: nothing to check.";
}

function renderUnresolved(unresolved) {
  $("#unresolved-section").hidden = unresolved.length === 0;
  $("#unresolved").replaceChildren(...unresolved.map((u) => el("li", {}, el("strong", {}, u.label),
    u.suggestions.length ? ` — did you mean ${u.suggestions.join(", ")}?` : "")));
}

async function load() {
  if (!session) {
    setStatus($("#status"), "No panel session: open this panel from the EHR (or /emr/demo where the demo is on).", true);
    document.body.dataset.panelState = "no-session";
    return;
  }
  try {
    const ctx = await api("/emr/api/context");
    document.body.dataset.canReview = ctx.can_review ? "true" : "false"; // panel-review.js
    renderBanner(ctx.banner);
    renderMedications(ctx.medications);
    renderAlerts(ctx.interactions, ctx.pairs_checked);
    renderUnresolved(ctx.unresolved);
    const recognised = ctx.medications.filter((m) => m.resolved).length;
    setStatus($("#status"), `${ctx.medications.length} active medication(s), ${recognised} recognised` +
      (ctx.unresolved.length ? `; ${ctx.unresolved.length} not checked` : "") + (ctx.demo ? " · demo patient" : ""),
      ctx.unresolved.length > 0);
    document.body.dataset.panelState = "ready";
  } catch (e) {
    setStatus($("#status"), e.message, true);
    document.body.dataset.panelState = e.status === 401 ? "no-session" : "error";
  }
}

// -- questions --------------------------------------------------------------------------------------
function focusCitation(n) {
  for (const li of document.querySelectorAll("#citations li")) li.classList.remove("active");
  const item = document.getElementById(`answer-cite-${n}`);
  if (!item) return;
  item.classList.add("active");
  item.scrollIntoView({ block: "nearest" });
  item.focus({ preventScroll: true });
}

function renderAnswer(result) {
  const answer = $("#answer");
  answer.replaceChildren();
  answer.classList.toggle("abstained", result.abstained);
  if (result.abstained) {
    answer.append(el("strong", {}, "Not enough evidence. "), result.answer);
  } else {
    const re = /\[(\d{1,3})\]/g;
    let last = 0;
    for (let m; (m = re.exec(result.answer));) {
      if (m.index > last) answer.append(result.answer.slice(last, m.index));
      const n = Number(m[1]);
      const cite = el("button", { type: "button", class: "cite", "aria-label": `Show citation ${n}`, "data-n": n }, `[${n}]`);
      cite.addEventListener("click", () => focusCitation(n));
      answer.append(cite);
      last = re.lastIndex;
    }
    if (last < result.answer.length) answer.append(result.answer.slice(last));
  }
  answer.hidden = false;
  $("#citations").replaceChildren(...result.citations.map((c) => {
    const item = citationItem(c, `answer-cite-${c.n}`);
    item.prepend(el("span", { class: "tag" }, `[${c.n}]`));
    return item;
  }));
  $("#citations-heading").hidden = result.citations.length === 0;
}

$("#ask-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const question = $("#question").value.trim();
  if (!question) return;
  const button = $("#ask-button");
  button.disabled = true;
  document.body.dataset.answerState = "pending";
  setStatus($("#answer-status"), "Searching the evidence…");
  try {
    const result = await api("/emr/api/ask", { method: "POST", body: JSON.stringify({ question }) });
    renderAnswer(result);
    document.dispatchEvent(new CustomEvent("medevidence:answer", { detail: result })); // panel-review.js
    setStatus($("#answer-status"), result.abstained ? `No answer: ${result.abstain_reason}`
      : `${result.citations.length} citation(s) · ${result.mode === "llm" ? `written by ${result.model}` : "quoted from the evidence"}`,
      result.abstained);
    document.body.dataset.answerState = result.abstained ? "abstained" : "answered";
  } catch (e) {
    setStatus($("#answer-status"), `The answer failed: ${e.message}`, true);
    document.body.dataset.answerState = "error";
  } finally {
    button.disabled = false;
  }
});

load();
