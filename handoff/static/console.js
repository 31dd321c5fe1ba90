// Agent console: short polling of the queue and of the open conversation (plain JS, no
// framework). Every text from a citizen is inserted with textContent, never as HTML.
(function () {
  "use strict";
  var main = document.getElementById("contenu");
  var csrf = main.getAttribute("data-csrf");
  var current = null; // id of the hand-off the agent holds
  var shown = 0; // transcript lines already shown
  var notice = ""; // the last closing's confirmation, kept before the queue's state until the next take
  var STATES = { waiting: "En attente", taken: "Prise en charge" };

  function call(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      if (response.status === 401) { window.location.href = "/connexion"; throw new Error("session"); }
      if (!response.ok) {
        return response.text().then(function (text) { throw new Error(text || "Erreur " + response.status); });
      }
      return response.json();
    });
  }

  function say(text) { document.getElementById("message").textContent = text; }

  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }

  function minutes(n) { return n < 1 ? "moins d'une minute" : n + " min"; }

  function renderQueue(items) {
    var body = document.querySelector("#file tbody");
    body.textContent = "";
    var waiting = 0;
    items.forEach(function (item) {
      if (item.status === "waiting") { waiting += 1; }
      if (item.status === "taken" && !item.mine) { return; }
      var row = document.createElement("tr");
      cell(row, item.topic_label);
      cell(row, item.service_name);
      cell(row, item.channel === "facebook" ? "Messenger" : "Site web");
      cell(row, minutes(item.waited_minutes));
      cell(row, item.mine ? "Vous la traitez" : STATES[item.status]);
      var action = cell(row, "");
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = item.mine ? "Ouvrir" : "Prendre";
      button.setAttribute("aria-label", button.textContent + " la conversation " + item.topic_label + " en attente depuis " + minutes(item.waited_minutes));
      button.addEventListener("click", function () { item.mine ? open(item.id) : take(item.id); });
      action.appendChild(button);
      body.appendChild(row);
    });
    var state = waiting === 0 ? "Aucune conversation en attente." : waiting + " conversation(s) en attente.";
    document.getElementById("etat-file").textContent = notice ? notice + " " + state : state;
  }

  function refreshQueue() {
    call("GET", "/api/queue").then(function (data) { renderQueue(data.items); }).catch(function () {});
  }

  function take(id) {
    call("POST", "/api/handoffs/" + id + "/take").then(function () { open(id); refreshQueue(); })
      .catch(function (error) { say(error.message); refreshQueue(); });
  }

  function open(id) {
    current = id; shown = 0; notice = "";
    document.getElementById("transcription").textContent = "";
    var section = document.getElementById("conversation");
    section.hidden = false;
    refreshConversation();
    document.getElementById("titre-conversation").focus();
  }

  function renderContext(data) {
    var list = document.getElementById("contexte");
    list.textContent = "";
    var pairs = [["Sujet", data.topic], ["Service", data.service],
      ["Canal", data.channel === "facebook" ? "Messenger" : "Site web"]];
    Object.keys(data.slots).forEach(function (key) { pairs.push([key, JSON.stringify(data.slots[key])]); });
    pairs.forEach(function (pair) {
      var dt = document.createElement("dt"); dt.textContent = pair[0];
      var dd = document.createElement("dd"); dd.textContent = pair[1];
      list.appendChild(dt); list.appendChild(dd);
    });
  }

  function refreshConversation() {
    if (current === null) { return; }
    call("GET", "/api/handoffs/" + current + "/conversation").then(function (data) {
      renderContext(data);
      var list = document.getElementById("transcription");
      data.transcript.slice(shown).forEach(function (line) {
        var item = document.createElement("li");
        item.className = line.who;
        var who = document.createElement("strong");
        who.textContent = { usager: "Usager", assistant: "Assistant", agent: "Agent" }[line.who] + " : ";
        item.appendChild(who);
        item.appendChild(document.createTextNode(line.text));
        list.appendChild(item);
      });
      shown = data.transcript.length;
    }).catch(function (error) {
      if (error.message !== "session") { say(error.message); current = null; }
    });
  }

  document.getElementById("modele").addEventListener("change", function (event) {
    if (event.target.value) { document.getElementById("texte").value = event.target.value; }
    document.getElementById("texte").focus();
  });

  document.getElementById("reponse").addEventListener("submit", function (event) {
    event.preventDefault();
    var box = document.getElementById("texte");
    if (current === null || !box.value.trim()) { return; }
    call("POST", "/api/handoffs/" + current + "/reply", { text: box.value }).then(function () {
      box.value = ""; say("Réponse envoyée."); refreshConversation();
    }).catch(function (error) { say(error.message); });
  });

  document.getElementById("cloture").addEventListener("submit", function (event) {
    event.preventDefault();
    if (current === null) { return; }
    call("POST", "/api/handoffs/" + current + "/close", { reason: document.getElementById("motif").value })
      .then(function () {
        current = null;
        document.getElementById("conversation").hidden = true;
        notice = "Conversation close : l'assistant reprend la main.";
        document.getElementById("etat-file").textContent = notice;
        refreshQueue();
        document.getElementById("titre-file").focus();
      }).catch(function (error) { say(error.message); });
  });

  document.getElementById("titre-file").setAttribute("tabindex", "-1");
  refreshQueue();
  setInterval(refreshQueue, 3000);
  setInterval(refreshConversation, 2000);
})();
