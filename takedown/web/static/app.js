/* The review queue by keyboard, bulk decisions and undo. Plain JS, no build step; htmx does the partial page
   updates (filters, paging, the post page's decision panel). Untrusted text is only ever set with textContent. */
(function () {
  "use strict";

  const STATE_LABELS = {
    new: "未入队", queued: "待审核", confirmed: "已确认违规", rejected: "已驳回", duplicate: "重复", official: "官方账号",
  };
  const DECISION_LABELS = { confirm: "确认违规", reject: "驳回", duplicate: "重复" };

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // htmx requests carry the CSRF token too.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  // A 409 from the post page's decision panel is a conflict to show, not an error to drop.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  async function api(method, url, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      throw new Error("not logged in");
    }
    let data = {};
    try { data = await response.json(); } catch (_) { data = {}; }
    return { status: response.status, data: data };
  }

  function typing(target) {
    return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function setStatus(text, warn) {
    const status = document.getElementById("status");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("warn", Boolean(warn));
  }

  // --- the queue -------------------------------------------------------------------------------------

  const queue = { cursor: -1, anchor: null, confirm: null, keepStatus: false };

  function rows() { return Array.from(document.querySelectorAll("tr.qrow")); }
  function rowById(id) { return document.querySelector('tr.qrow[data-id="' + String(Number(id)) + '"]'); }
  function listState() {
    const meta = document.getElementById("results-meta");
    return meta ? meta.dataset.state : "queued";
  }
  function currentRow() { return rows()[queue.cursor] || null; }
  function selectedRows() { return rows().filter(function (r) { return r.classList.contains("selected"); }); }

  function setCursor(index) {
    const all = rows();
    if (!all.length) { queue.cursor = -1; return; }
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (r) { r.classList.remove("current"); r.removeAttribute("aria-current"); });
    queue.cursor = index;
    all[index].classList.add("current");
    all[index].setAttribute("aria-current", "true");
    all[index].scrollIntoView({ block: "nearest" });
  }

  function updateSelectionCount() {
    const count = document.getElementById("sel-count");
    if (count) count.textContent = String(selectedRows().length);
  }

  function select(row, on) {
    row.classList.toggle("selected", on);
    const box = row.querySelector("input.sel");
    if (box) box.checked = on;
  }

  function toggleCurrent() {
    const row = currentRow();
    if (!row) return;
    select(row, !row.classList.contains("selected"));
    queue.anchor = queue.cursor;
    updateSelectionCount();
  }

  function selectRange() {
    const all = rows();
    if (queue.cursor < 0) return;
    const from = queue.anchor === null ? queue.cursor : queue.anchor;
    const lo = Math.min(from, queue.cursor), hi = Math.max(from, queue.cursor);
    for (let i = lo; i <= hi; i++) select(all[i], true);
    queue.anchor = queue.cursor;
    updateSelectionCount();
  }

  function clearSelection() {
    rows().forEach(function (r) { select(r, false); });
    queue.anchor = null;
    updateSelectionCount();
  }

  function showRowState(row, state, note) {
    row.dataset.state = state;
    const badge = row.querySelector(".badge");
    if (badge) {
      badge.textContent = STATE_LABELS[state] || state;
      badge.className = "badge state-" + state;
    }
    row.classList.toggle("decided", listState() !== "all" && state !== listState());
    const noteEl = row.querySelector(".note");
    if (noteEl) noteEl.textContent = note || "";
  }

  function applyResult(data) {
    (data.applied || []).forEach(function (id) {
      const row = rowById(id);
      if (row && data.state) showRowState(row, data.state, "");
    });
    (data.restored || []).forEach(function (item) {
      const row = rowById(item.post_id);
      if (row) showRowState(row, item.state, "");
    });
    (data.conflicts || []).forEach(function (c) {
      const row = rowById(c.post_id);
      if (row) showRowState(row, c.state || row.dataset.state, c.message);
    });
  }

  function nextUndecided(from) {
    const all = rows(), state = listState();
    for (let i = from + 1; i < all.length; i++) if (all[i].dataset.state === state) return i;
    return Math.min(from + 1, all.length - 1);
  }

  async function decideOne(row, decision) {
    const id = row.dataset.id;
    const result = await api("POST", "/api/posts/" + id + "/decision",
                             { decision: decision, expected_state: row.dataset.state });
    if (result.status === 200) {
      applyResult(result.data);
      setStatus("帖子 " + id + "：" + result.data.message);
      setCursor(nextUndecided(rows().indexOf(row)));
    } else if (result.status === 409) {
      applyResult(result.data);
      const conflict = (result.data.conflicts || [])[0];
      setStatus("帖子 " + id + "：" + (conflict ? conflict.message : "已被他人处理"), true);
    } else {
      setStatus(result.data.detail || "操作失败（" + result.status + "）", true);
    }
  }

  async function decideMany(selected, decision) {
    const items = selected.map(function (r) { return { id: Number(r.dataset.id), expected_state: r.dataset.state }; });
    const result = await api("POST", "/api/decisions", { decision: decision, items: items });
    if (result.status === 200 || result.status === 409) {
      applyResult(result.data);
      clearSelection();
      setStatus(result.data.message, result.data.conflicts && result.data.conflicts.length > 0);
    } else {
      setStatus(result.data.detail || "操作失败（" + result.status + "）", true);
    }
  }

  function askConfirm(text, onOk) {
    const panel = document.getElementById("confirm-panel");
    document.getElementById("confirm-text").textContent = text;
    panel.hidden = false;
    queue.confirm = onOk;
    document.getElementById("confirm-ok").focus();
  }

  function closeConfirm() {
    const panel = document.getElementById("confirm-panel");
    if (panel) panel.hidden = true;
    queue.confirm = null;
  }

  function runConfirm() {
    const action = queue.confirm;
    closeConfirm();
    if (action) action();
  }

  function decide(decision) {
    const selected = selectedRows();
    if (selected.length > 1) {
      askConfirm("将所选 " + selected.length + " 条标记为「" + DECISION_LABELS[decision] + "」？",
                 function () { decideMany(selected, decision); });
    } else if (selected.length === 1) {
      decideMany(selected, decision);
    } else {
      const row = currentRow();
      if (row) decideOne(row, decision);
    }
  }

  function filterOfPage() {
    const meta = document.getElementById("results-meta");
    try { return JSON.parse(meta.dataset.filter || "{}"); } catch (_) { return {}; }
  }

  async function decideWholeFilter(decision) {
    const filter = filterOfPage();
    const query = new URLSearchParams(filter).toString();
    const counted = await api("GET", "/api/queue/count?" + query);
    if (counted.status !== 200) { setStatus(counted.data.detail || "无法统计筛选结果", true); return; }
    const n = counted.data.count;
    if (n === 0) { setStatus("当前筛选没有帖子。"); return; }
    if (n > counted.data.max) { setStatus("筛选结果 " + n + " 条，超过单次上限 " + counted.data.max + " 条，请缩小范围。", true); return; }
    askConfirm("当前筛选（" + counted.data.state_label + "）共 " + n + " 条，全部标记为「" + DECISION_LABELS[decision] + "」？",
      async function () {
        const result = await api("POST", "/api/decisions/filter", { decision: decision, filter: filter, expected_count: n });
        if (result.status === 200) {
          setStatus(result.data.message + "。");
          reloadResults();
        } else {
          setStatus(result.data.detail || result.data.message || "操作失败（" + result.status + "）", true);
        }
      });
  }

  function reloadResults() {
    queue.keepStatus = true;
    if (window.htmx) {
      window.htmx.ajax("GET", window.location.pathname + window.location.search,
                       { target: "#queue-results", swap: "innerHTML" });
    } else {
      window.location.reload();
    }
  }

  async function undo() {
    const result = await api("POST", "/api/undo");
    if (result.status === 200) {
      applyResult(result.data);
      setStatus(result.data.message, result.data.conflicts && result.data.conflicts.length > 0);
      if (document.body.dataset.page === "post") window.location.reload();
    } else {
      setStatus(result.data.detail || "没有可撤销的操作", true);
    }
  }

  function toggleHelp(show) {
    const help = document.getElementById("help");
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  function openCurrent() {
    const row = currentRow();
    if (row) window.location.href = "/posts/" + row.dataset.id;
  }

  function initQueue() {
    const all = rows();
    queue.anchor = null;
    updateSelectionCount();
    const state = listState();
    const first = all.findIndex(function (r) { return r.dataset.state === state; });
    setCursor(first >= 0 ? first : 0);
  }

  function onQueueKey(event) {
    if (queue.confirm) {
      if (event.key === "Enter") { event.preventDefault(); runConfirm(); }
      else if (event.key === "Escape") { event.preventDefault(); closeConfirm(); setStatus("已取消。"); }
      return;
    }
    switch (event.key) {
      case "j": setCursor(queue.cursor + 1); break;
      case "k": setCursor(queue.cursor - 1); break;
      case "y": decide("confirm"); break;
      case "n": decide("reject"); break;
      case "d": decide("duplicate"); break;
      case "x": toggleCurrent(); break;
      case "X": selectRange(); break;
      case "u": undo(); break;
      case "o": case "Enter": openCurrent(); break;
      case "?": toggleHelp(); break;
      case "/": { const box = document.getElementById("search-box"); if (box) box.focus(); break; }
      case "Escape": toggleHelp(false); clearSelection(); break;
      default: return;
    }
    event.preventDefault();
  }

  function bindQueue() {
    document.addEventListener("click", function (event) {
      const row = event.target.closest && event.target.closest("tr.qrow");
      if (row && !event.target.closest("a")) {
        const index = rows().indexOf(row);
        if (event.target.matches("input.sel")) {
          if (event.shiftKey && queue.anchor !== null) { setCursor(index); selectRange(); }
          else { setCursor(index); select(row, event.target.checked); queue.anchor = index; updateSelectionCount(); }
        } else {
          setCursor(index);
        }
      }
      const button = event.target.closest && event.target.closest("button");
      if (!button) return;
      if (button.dataset.decision) decide(button.dataset.decision);
      else if (button.dataset.filterDecision) decideWholeFilter(button.dataset.filterDecision);
      else if (button.id === "confirm-ok") runConfirm();
      else if (button.id === "confirm-cancel") { closeConfirm(); setStatus("已取消。"); }
      else if (button.id === "undo-button") undo();
      else if (button.id === "help-button") toggleHelp();
      else if (button.id === "help-close") toggleHelp(false);
    });
    document.addEventListener("htmx:historyRestore", function () { initQueue(); setStatus(""); });
    document.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "queue-results") {
        initQueue();
        if (!queue.keepStatus) setStatus("");
        queue.keepStatus = false;
      }
    });
    initQueue();
  }

  // --- the post page ---------------------------------------------------------------------------------

  function onPostKey(event) {
    const panel = document.getElementById("decision-panel");
    if (!panel) return;
    if (event.key === "u") { event.preventDefault(); undo(); return; }
    if (event.key === "?") { event.preventDefault(); return; }
    const button = panel.querySelector('button[data-key="' + event.key + '"]');
    if (button) { event.preventDefault(); button.click(); }
  }

  // --- wiring ----------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    const page = document.body.dataset.page;
    if (page === "queue") bindQueue();
    document.addEventListener("click", function (event) {
      const button = event.target.closest && event.target.closest("#undo-button");
      if (button && page === "post") undo();
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target)) {
        if (event.key === "Escape") event.target.blur();
        return;
      }
      if (page === "queue") onQueueKey(event);
      else if (page === "post") onPostKey(event);
    });
  });
})();
