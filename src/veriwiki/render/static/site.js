// veriwiki static site: search as you type over the prebuilt shards, and report filters.
// Hand-written, no dependencies. Results are inserted with textContent only.
(function () {
  "use strict";
  var root = document.body.getAttribute("data-root") || "";
  var base = root + "_vw/search/";
  var cache = {};
  function get(name) {
    if (!cache[name]) {
      cache[name] = fetch(base + name).then(function (r) {
        if (!r.ok) { throw new Error(name); }
        return r.json();
      });
    }
    return cache[name];
  }
  var STOP = {};
  function fold(s) { return s.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, ""); }
  function words(s) {
    return (fold(s).match(/[\p{L}\p{N}]+/gu) || []).filter(function (w) {
      return (w.length > 1 || /^[0-9]$/.test(w)) && !STOP[w];
    });
  }
  function keyOf(term, n) {
    var out = "";
    var chars = Array.from(term).slice(0, n);
    chars.forEach(function (c) {
      out += /^[a-z0-9]$/.test(c) ? c : "_" + c.codePointAt(0).toString(16) + "_";
    });
    return out;
  }
  function shardFor(manifest, word) {
    var best = null;
    for (var n = 4; n >= 1 && !best; n--) {
      var k = keyOf(word, n);
      if (manifest.shards.indexOf(k) >= 0 && Array.from(word).length >= n) { best = k; }
    }
    return best;
  }
  function search(query) {
    if (!words(query).length) { return Promise.resolve([]); }
    return get("manifest.json").then(function (manifest) {
      (manifest.stop || []).forEach(function (w) { STOP[w] = true; });
      var ws = words(query);
      if (!ws.length) { return []; }
      return Promise.all(ws.map(function (w, i) {
        var key = shardFor(manifest, w);
        if (!key) { return Promise.resolve({}); }
        return get("t-" + key + ".json").then(function (shard) {
          var scores = {};
          var last = i === ws.length - 1;
          Object.keys(shard).forEach(function (term) {
            if (term === w || (last && term.indexOf(w) === 0)) {
              var p = shard[term];
              var exact = term === w ? 1.5 : 1;
              for (var j = 0; j < p.length; j += 2) {
                scores[p[j]] = Math.max(scores[p[j]] || 0, p[j + 1] * exact);
              }
            }
          });
          return scores;
        });
      })).then(function (per) {
        var total = {};
        Object.keys(per[0]).forEach(function (d) {
          var s = 0;
          for (var i = 0; i < per.length; i++) {
            if (!(d in per[i])) { return; }
            s += per[i][d];
          }
          total[d] = s;
        });
        var top = Object.keys(total).sort(function (a, b) { return total[b] - total[a] || a - b; }).slice(0, 12);
        return Promise.all(top.map(function (d) {
          return get("d-" + Math.floor(d / manifest.chunk) + ".json").then(function (chunk) {
            return chunk[d % manifest.chunk];
          });
        }));
      });
    });
  }
  var input = document.getElementById("search-input");
  var list = document.getElementById("search-results");
  var seq = 0;
  if (input && list) {
    input.addEventListener("input", function () {
      var mine = ++seq;
      var q = input.value;
      search(q).then(function (docs) {
        if (mine !== seq) { return; }
        list.textContent = "";
        docs.forEach(function (doc) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = root + doc[0].split("/").map(encodeURIComponent).join("/");
          a.textContent = doc[1];
          li.appendChild(a);
          if (doc[2]) {
            var s = document.createElement("span");
            s.className = "summary";
            s.textContent = doc[2];
            li.appendChild(s);
          }
          list.appendChild(li);
        });
        if (!docs.length && words(q).length) {
          var none = document.createElement("li");
          none.className = "none";
          none.textContent = "No page matches.";
          list.appendChild(none);
        }
      }).catch(function () { list.textContent = ""; });
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { input.value = ""; list.textContent = ""; }
    });
  }
  var filters = document.getElementById("finding-filters");
  if (filters) {
    var rows = document.querySelectorAll("table.findings tbody tr");
    var count = document.getElementById("finding-count");
    var apply = function () {
      var want = {};
      filters.querySelectorAll("select").forEach(function (s) { want[s.getAttribute("data-filter")] = s.value; });
      var shown = 0;
      rows.forEach(function (tr) {
        var ok = Object.keys(want).every(function (k) { return !want[k] || tr.getAttribute("data-" + k) === want[k]; });
        tr.hidden = !ok;
        if (ok) { shown++; }
      });
      count.textContent = shown + " shown";
    };
    filters.addEventListener("change", apply);
    apply();
  }
}());
