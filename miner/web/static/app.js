// refusal-miner: keyboard for the annotators' pages. Every key has a visible button or link too.
(function () {
  "use strict";
  const page = document.body.dataset.page;
  const $ = (sel) => document.querySelector(sel);
  let mode = null;          // a field waiting for a digit (c, f, p, ...)
  let sent = false;         // one submit per page: a double key press must not send twice

  function submitWith(form, button) {
    if (sent) return;
    sent = true;
    form.classList.add("sending");
    if (button) form.requestSubmit(button); else form.requestSubmit();
  }
  function setMode(field) {
    document.querySelectorAll("fieldset.active").forEach((f) => f.classList.remove("active"));
    mode = field;
    if (field) {
      const fs = document.querySelector(`fieldset[data-field="${field}"]`);
      if (fs) { fs.classList.add("active"); fs.scrollIntoView({block: "nearest"}); }
    }
  }
  function overlay(id, show) {
    const el = document.getElementById(id);
    if (el) el.hidden = show === undefined ? !el.hidden : !show;
  }
  function reveal() {
    document.querySelectorAll(".blurred").forEach((el) => el.classList.remove("blurred"));
    const b = $("#reveal"); if (b) b.remove();
  }
  function go(url) { if (url) window.location.href = url; }

  // break reminder
  // break reminder: due at data-break-at (server clock); "later" snoozes for 10 minutes across pages
  const breakAt = Number(document.body.dataset.breakAt || 0);
  if (breakAt) {
    const snooze = Number(localStorage.getItem("breakSnoozeUntil") || 0) - Date.now();
    const due = breakAt - Number(document.body.dataset.now || Date.now());
    setTimeout(() => overlay("break", true), Math.max(0, due, snooze));
    const later = $("#break-later");
    if (later) later.addEventListener("click", () => {
      overlay("break", false);
      localStorage.setItem("breakSnoozeUntil", String(Date.now() + 10 * 60 * 1000));
      setTimeout(() => overlay("break", true), 10 * 60 * 1000);
    });
    const take = $("#break-take");
    if (take) take.addEventListener("click", () => localStorage.removeItem("breakSnoozeUntil"));
  }
  const rv = $("#reveal"); if (rv) rv.addEventListener("click", reveal);
  document.querySelectorAll("form").forEach((f) => f.addEventListener("submit", (e) => {
    if (f.dataset.sent) { e.preventDefault(); return; }   // mouse double clicks, too
    f.dataset.sent = "1";
  }));

  const fieldKeys = {c: "context", f: "form", y: "refusal_type", h: "phases", o: "outcome", p: "product"};

  function pickDigit(d) {
    const fs = document.querySelector(`fieldset[data-field="${mode}"]`);
    if (!fs) return;
    if (mode === "product") {
      const sel = fs.querySelector("select");
      sel.selectedIndex = d;           // 0 = none, 1..9 the numbered products
      return setMode(null);
    }
    const inputs = fs.querySelectorAll("input");
    const inp = inputs[d - 1];
    if (!inp) return;
    if (inp.type === "checkbox") { inp.checked = !inp.checked; return; }   // stay: toggle several
    inp.checked = true;
    setMode(null);
  }

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const typing = t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && !["radio", "checkbox", "submit", "button"].includes(t.type)) || t.tagName === "SELECT");
    if (e.key === "Escape") {
      if (typing) t.blur();
      setMode(null); overlay("codebook", false); overlay("break", false);
      if (page === "confirm") go($("#confirm-no").href);
      return;
    }
    if (typing) return;
    const k = e.key;
    if (k === "?") { overlay("codebook"); e.preventDefault(); return; }
    if (k === "z") { const u = $("#undo-form"); if (u) submitWith(u); return; }
    if (k === "g") return go("/clusters");
    if (k === "s" && page !== "confirm") return go("/progress");
    if (k === "q" && page !== "item") return go("/next");

    if (page === "item") {
      const form = $("#label-form");
      const item = $(".item");
      if (mode && /^[0-9]$/.test(k)) { pickDigit(Number(k)); e.preventDefault(); return; }
      if (fieldKeys[k]) { setMode(mode === fieldKeys[k] ? null : fieldKeys[k]); e.preventDefault(); return; }
      if (k === "t") {
        const s = $("#first_hand"); s.selectedIndex = (s.selectedIndex + 1) % s.options.length; return;
      }
      if (k === "n") { $("#note").focus(); e.preventDefault(); return; }
      if (k === "v" || k === " ") { reveal(); e.preventDefault(); return; }
      if (k === "a") return submitWith(form, form.querySelector('button[value="incident"]'));
      if (k === "r") return submitWith(form, form.querySelector('button[value="not"]'));
      if (k === "u") return submitWith(form, form.querySelector('button[value="unsure"]'));
      if (/^[1-6]$/.test(k)) {
        const r = form.querySelectorAll('input[name="reason"]')[Number(k) - 1];
        r.checked = true;
        return submitWith(form, form.querySelector('button[value="not"]'));
      }
      if (k === "j" || k === "ArrowRight") return go(item.dataset.next);
      if (k === "k" || k === "ArrowLeft") return go(item.dataset.prev);
      if (k === "Enter" && mode) { setMode(null); return; }
    }
    if (page === "cluster") {
      const form = $("#cluster-form");
      if (/^[1-6]$/.test(k)) {
        form.querySelectorAll('input[name="reason"]')[Number(k) - 1].checked = true;
        return submitWith(form, form.querySelector('button[value="not"]'));
      }
      if (k === "r") return submitWith(form, form.querySelector('button[value="not"]'));
      if (k === "a") return submitWith(form, form.querySelector('button[value="incident"]'));
      if (k === "u") return submitWith(form, form.querySelector('button[value="unsure"]'));
      if (k === "v") { reveal(); return; }
    }
    if (page === "confirm" && (k === "y" || k === "Enter")) { e.preventDefault(); return submitWith($("#confirm-form")); }
    if (page === "clusters") {
      const rows = Array.from(document.querySelectorAll("#cluster-table tbody tr[data-href]"));
      if (!rows.length) return;
      let i = rows.findIndex((r) => r.classList.contains("sel"));
      if (k === "j" || k === "ArrowDown") i = Math.min(rows.length - 1, i + 1);
      else if (k === "k" || k === "ArrowUp") i = Math.max(0, i - 1);
      else if (k === "Enter" && i >= 0) return go(rows[i].dataset.href);
      else return;
      rows.forEach((r) => r.classList.remove("sel"));
      rows[i].classList.add("sel"); rows[i].scrollIntoView({block: "nearest"});
      e.preventDefault();
    }
  });
})();
