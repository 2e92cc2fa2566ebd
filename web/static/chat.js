// Customer chat: send without a reload, show the reply as it streams, follow a pending decision.
(function () {
  "use strict";
  var form = document.querySelector("form[data-chat-form]");
  var news = document.getElementById("chat-news");
  var polling = null;

  function conversation() { return document.getElementById("conversation"); }
  function list() {
    var conv = conversation();
    var ol = conv.querySelector("ol.messages");
    if (!ol) {
      ol = document.createElement("ol");
      ol.className = "messages";
      ol.setAttribute("aria-label", "Messages");
      conv.prepend(ol);
    }
    conv.hidden = false;
    return ol;
  }
  function bubble(role, label, text) {
    var li = document.createElement("li");
    li.className = "msg " + role;
    var span = document.createElement("span");
    span.className = "role";
    span.textContent = label;
    var p = document.createElement("p");
    p.textContent = text;  // text, never markup
    li.append(span, p);
    list().append(li);
    return p;
  }
  function announce(text) { if (news) { news.textContent = text; } }

  function setBusy(busy) {
    form.querySelectorAll("textarea, button").forEach(function (el) { el.disabled = busy; });
  }

  function replaceConversation(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("conversation");
    var old = conversation();
    if (!fresh || !old) { return null; }
    if (fresh.dataset.version === old.dataset.version && old.dataset.live !== "1") { return fresh.dataset.status; }
    old.replaceWith(fresh);
    return fresh.dataset.status;
  }

  function refresh() {
    var conv = conversation();
    if (!conv || !conv.dataset.part) { return Promise.resolve(null); }
    return fetch(conv.dataset.part, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok || r.redirected) { throw new Error("refresh"); } return r.text(); })
      .then(replaceConversation);
  }

  function follow() {
    if (polling) { return; }
    polling = window.setInterval(function () {
      if (document.hidden) { return; }
      refresh().then(function (status) {
        if (status && status !== "awaiting_approval") {
          window.clearInterval(polling);
          polling = null;
          announce("A person has decided your request: see the latest message.");
          form.removeAttribute("data-waiting");
          setBusy(false);
          form.querySelector(".hint").textContent = "Enter sends; Shift+Enter starts a new line.";
        }
      }).catch(function () {});
    }, 3000);
  }

  // The first message of a new conversation: this page becomes that conversation (no reload).
  function becomeConversation(threadId, url) {
    var conv = conversation();
    if (conv.dataset.thread) { return; }
    conv.dataset.thread = threadId;
    conv.dataset.part = url + "/part";
    form.action = url + "/messages";
    window.history.replaceState(null, "", url);
    var others = document.getElementById("conversation-list");
    if (others) { others.hidden = true; }
    var label = form.querySelector("label");
    if (label) { label.textContent = "Your message"; }
  }

  if (!form) { return; }
  var conv = conversation();
  if (conv && conv.dataset.status === "awaiting_approval") { follow(); }

  var textarea = form.querySelector("textarea");
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textarea.value.trim();
    if (!text || form.dataset.sending) { return; }
    form.dataset.sending = "1";
    var body = new URLSearchParams(new FormData(form));
    setBusy(true);
    conversation().dataset.live = "1";
    bubble("customer", "You", text);
    var reply = bubble("assistant", "Support", "");
    var progress = document.createElement("p");
    progress.className = "progress";
    progress.textContent = "Sending…";
    reply.parentNode.append(progress);
    var finalStatus = null, replies = {};

    function handle(event) {
      if (event.event === "thread") { becomeConversation(event.thread_id, event.url); }
      else if (event.event === "progress") { progress.textContent = event.text + "…"; }
      else if (event.event === "reply") {
        replies[event.id] = event.chunk ? (replies[event.id] || "") + event.text : event.text;
        reply.textContent = Object.keys(replies).map(function (k) { return replies[k]; }).join("\n");
      }
      else if (event.event === "waiting") { progress.textContent = event.text; }
      else if (event.event === "error") { progress.textContent = event.message; }
      else if (event.event === "done") { finalStatus = event.status; progress.textContent = event.text || ""; }
    }

    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Stream": "1", "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (e) { throw new Error(e.message || e.error); },
                                    function () { throw new Error("The message could not be sent (" + response.status + ")."); });
      }
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return; }
          buffer += decoder.decode(chunk.value, { stream: true });
          var lines = buffer.split("\n");
          buffer = lines.pop();
          lines.forEach(function (line) { if (line.trim()) { handle(JSON.parse(line)); } });
          return pump();
        });
      }
      return pump();
    }).then(function () {
      delete form.dataset.sending;
      textarea.value = "";
      conversation().dataset.live = "0";
      return refresh().then(function (status) {
        status = status || finalStatus;
        if (status === "awaiting_approval") {
          form.setAttribute("data-waiting", "");
          form.querySelector(".hint").textContent = "You can write again once a person has decided.";
          announce("Your request is waiting for a person.");
          follow();
        } else {
          setBusy(false);
          textarea.focus();
          announce("Reply received.");
        }
      });
    }).catch(function (error) {
      delete form.dataset.sending;
      progress.textContent = error.message;
      setBusy(false);
    });
  });
})();
