// Operator console: the inbox refreshes itself, and a decision form submits once.
(function () {
  "use strict";

  // One click acts once: the first submit disables every decision button on the page.
  document.querySelectorAll("form.one-shot").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (document.body.dataset.submitting) { event.preventDefault(); return; }
      document.body.dataset.submitting = "1";
      var label = form.dataset.confirmLabel;
      var button = form.querySelector("button[type=submit]");
      if (button && label) { button.textContent = label; }
      window.setTimeout(function () {
        document.querySelectorAll("form.one-shot button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });

  // The inbox: fetch the rows every 3 seconds; new approvals appear and are announced.
  var table = document.querySelector("table[data-poll]");
  if (!table) { return; }
  var body = document.getElementById("inbox-rows");
  var news = document.getElementById("inbox-news");
  function keys(root) {
    return Array.prototype.map.call(root.querySelectorAll("tr[data-key]"), function (tr) { return tr.dataset.key; });
  }
  function refresh() {
    if (document.hidden) { return; }
    fetch(table.dataset.poll, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { throw new Error(response.status === 401 || response.redirected ? "expired" : "failed"); }
        return response.text();
      })
      .then(function (html) {
        var fresh = document.createElement("tbody");
        fresh.innerHTML = html;  // rendered and escaped by the server
        var before = keys(body), after = keys(fresh);
        if (before.join("|") === after.join("|")) { return; }
        var focused = document.activeElement && body.contains(document.activeElement)
          ? document.activeElement.closest("tr[data-key]") : null;
        var added = after.filter(function (k) { return before.indexOf(k) < 0; });
        body.replaceChildren.apply(body, Array.prototype.slice.call(fresh.childNodes));
        added.forEach(function (k) {
          var row = body.querySelector('tr[data-key="' + CSS.escape(k) + '"]');
          if (row) { row.classList.add("new"); }
        });
        if (added.length) { news.textContent = added.length + (added.length === 1 ? " new approval" : " new approvals") + " waiting."; }
        if (focused) {
          var again = body.querySelector('tr[data-key="' + CSS.escape(focused.dataset.key) + '"] a');
          if (again) { again.focus(); }
        }
      })
      .catch(function (error) {
        if (error.message === "expired") {
          news.textContent = "Your session has expired: reload the page to sign in again.";
          window.clearInterval(timer);
        }
      });
  }
  var timer = window.setInterval(refresh, 3000);
})();
