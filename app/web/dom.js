// Shared helpers of the clinician page and the review queue: build elements, send the API key, read an API error.
// Loaded before the page's own scripts; no framework, no request outside this server.
"use strict";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function headers(json = true) {
  const h = json ? { "Content-Type": "application/json" } : {};
  const key = document.querySelector("#api-key").value.trim();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function errorText(response) {
  try {
    const e = (await response.json()).error || {};
    return `${e.message || response.statusText}${e.field ? ` (${e.field})` : ""}`;
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
