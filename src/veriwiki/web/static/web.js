// veriwiki serve: search as you type, live refresh, the editor's preview. No dependencies;
// text from the server is inserted with textContent, except the preview's HTML, which the
// server's renderer escaped and sanitized (the same rules as the static site).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  function debounce(fn, ms) {
    var t = null;
    return function () {
      var args = arguments;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // -- search as you type ---------------------------------------------------------------
  var input = document.getElementById("search-input");
  var list = document.getElementById("search-results");
  if (input && list) {
    var seq = 0;
    var run = debounce(function () {
      var q = input.value.trim();
      var mine = ++seq;
      if (!q) { list.textContent = ""; return; }
      fetch("/api/search?q=" + encodeURIComponent(q), {headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (mine !== seq) { return; }
          list.textContent = "";
          (data.hits || []).forEach(function (h) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = h.url;
            a.textContent = h.title;
            li.appendChild(a);
            if (h.summary) {
              var s = document.createElement("span");
              s.className = "summary";
              s.textContent = h.summary;
              li.appendChild(s);
            }
            list.appendChild(li);
          });
          if (data.error) {
            var li2 = document.createElement("li");
            li2.textContent = data.error;
            list.appendChild(li2);
          }
        })
        .catch(function () {});
    }, 150);
    input.addEventListener("input", run);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { list.textContent = ""; }
    });
  }

  // -- confirmations --------------------------------------------------------------------
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });

  // -- live refresh ---------------------------------------------------------------------
  var body = document.body;
  var watch = body.getAttribute("data-watch");
  var notice = document.getElementById("live-notice");
  function show(text, reload) {
    if (!notice) { return; }
    notice.textContent = text;
    if (reload) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = "Reload";
      b.addEventListener("click", function () { window.location.reload(); });
      notice.appendChild(b);
    }
    notice.hidden = false;
  }
  if (watch && window.EventSource) {
    var since = body.getAttribute("data-generation") || "0";
    var es = new EventSource("/events?since=" + encodeURIComponent(since));
    es.addEventListener("change", function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      var paths = data.paths || [];
      var mine = paths.indexOf(watch) >= 0 || paths.indexOf("*") >= 0;
      if (!mine) { return; }
      if (body.classList.contains("editing")) {
        if (paths.indexOf(watch) >= 0) {
          body.setAttribute("data-changed", "1");
          show("This page was changed elsewhere since you opened it. Saving will show a merge; nothing is lost.", false);
        }
      } else {
        body.setAttribute("data-changed", "1");
        es.close();
        window.location.reload();
      }
    });
  }

  // -- the editor's live preview ----------------------------------------------------------
  var editor = document.getElementById("editor-text");
  var preview = document.getElementById("preview");
  if (editor && preview) {
    var findings = document.getElementById("preview-findings");
    var status = document.getElementById("preview-status");
    var path = editor.getAttribute("data-path");
    var pseq = 0;
    var busy = false;
    var again = false;
    var refresh = debounce(function () {
      // one preview at a time: typing during a slow one asks for one more when it ends
      if (busy) { again = true; return; }
      busy = true;
      var mine = ++pseq;
      if (status) { status.textContent = "checking…"; }
      fetch("/api/preview", {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf,
                  "Accept": "application/json"},
        body: JSON.stringify({path: path, text: editor.value})
      }).then(function (r) { return r.json(); }).then(function (data) {
        if (mine !== pseq) { return; }
        if (data.error) {
          if (status) { status.textContent = data.error; }
          return;
        }
        preview.innerHTML = data.html;
        if (findings) {
          findings.textContent = "";
          (data.findings || []).forEach(function (f) {
            var li = document.createElement("li");
            li.className = "finding sev-" + f.severity;
            li.setAttribute("data-rule", f.rule);
            li.textContent = "line " + f.line + " " + f.severity + " " + f.rule + ": " + f.message;
            findings.appendChild(li);
          });
        }
        if (status) {
          status.textContent = (data.badge ? data.badge.verified + " / " + data.badge.claims +
            " claims verified · " : "") + (data.findings || []).length + " findings";
        }
        body.setAttribute("data-preview", String(mine));
      }).catch(function () {
        if (status) { status.textContent = "preview failed"; }
      }).then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
    }, 400);
    editor.addEventListener("input", refresh);
    var hash = /^#L(\d+)$/.exec(window.location.hash || "");
    var line = parseInt((hash && hash[1]) ||
                        new URLSearchParams(window.location.search).get("line") || "", 10);
    if (line > 0) {
      var lines = editor.value.split("\n");
      var at = 0;
      for (var i = 0; i < Math.min(line - 1, lines.length); i++) { at += lines[i].length + 1; }
      editor.focus();
      editor.setSelectionRange(at, at + (lines[line - 1] || "").length);
      var lh = parseFloat(window.getComputedStyle(editor).lineHeight) || 20;
      editor.scrollTop = Math.max(0, (line - 5) * lh);
    }
    refresh();
  }
}());
