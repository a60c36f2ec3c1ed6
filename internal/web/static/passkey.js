// Gatehouse passkeys: the one script of the hosted pages (the CSP allows scripts from
// this origin only, never inline). Everything else works without it. It drives the
// WebAuthn API for: signing in with a passkey (/login), a passkey as the second step
// (/login/mfa), and adding a passkey (/account). The page endpoints it calls take the
// CSRF token in the X-CSRF-Token header.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return; // no WebAuthn here: the passkey buttons stay hidden
  }

  function toBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64u(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function hidden(name) {
    var el = document.querySelector('input[type="hidden"][name="' + name + '"]');
    return el ? el.value : "";
  }
  function say(text) {
    var el = document.getElementById("passkey-msg");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
  }
  function explain(e) {
    if (e && e.name === "NotAllowedError") return "The passkey request was cancelled or timed out.";
    if (e && e.name === "InvalidStateError") return "This passkey is already registered.";
    return (e && e.fromServer && e.message) || "The passkey could not be used. Try again.";
  }

  async function post(url, body) {
    var res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": hidden("csrf_token") },
      body: JSON.stringify(body || {})
    });
    var data = {};
    try { data = await res.json(); } catch (ignored) { /* not JSON */ }
    if (!res.ok) {
      var err = new Error(data.error || "Something went wrong.");
      err.fromServer = true;
      err.redirect = data.redirect;
      throw err;
    }
    return data;
  }

  function requestOptions(o) {
    o.challenge = toBuf(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return o;
  }
  function creationOptions(o) {
    o.challenge = toBuf(o.challenge);
    o.user.id = toBuf(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return o;
  }
  function assertion(c) {
    var r = c.response, out = {
      id: c.id, rawId: toB64u(c.rawId), type: c.type,
      response: { clientDataJSON: toB64u(r.clientDataJSON), authenticatorData: toB64u(r.authenticatorData), signature: toB64u(r.signature) },
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {}
    };
    if (r.userHandle) out.response.userHandle = toB64u(r.userHandle);
    return out;
  }
  function attestation(c) {
    var r = c.response;
    return {
      id: c.id, rawId: toB64u(c.rawId), type: c.type,
      response: {
        clientDataJSON: toB64u(r.clientDataJSON), attestationObject: toB64u(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      },
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {}
    };
  }

  // Sign in (or the second step) with a passkey: begin, ask the authenticator, finish,
  // then go where the server says (the account page, the consent page or the app).
  function signInButton(btn) {
    btn.hidden = false;
    btn.addEventListener("click", async function () {
      say("");
      btn.disabled = true;
      try {
        var begin = await post(btn.dataset.begin, {});
        var cred = await navigator.credentials.get({ publicKey: requestOptions(begin.options) });
        var done = await post(btn.dataset.finish, {
          challenge_id: begin.challenge_id, credential: assertion(cred),
          auth_request: hidden("auth_request"), "return": hidden("return")
        });
        window.location.assign(done.redirect);
      } catch (e) {
        if (e.redirect) { window.location.assign(e.redirect); return; }
        say(explain(e));
      } finally {
        btn.disabled = false;
      }
    });
  }

  // Add a passkey from the account page. A first factor brings backup codes, shown once.
  function addForm(form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      say("");
      var pw = form.querySelector('input[name="current_password"]');
      try {
        var begin = await post(form.dataset.begin, { name: form.elements.name.value, current_password: pw ? pw.value : "" });
        var cred = await navigator.credentials.create({ publicKey: creationOptions(begin.options) });
        var done = await post(form.dataset.finish, { challenge_id: begin.challenge_id, credential: attestation(cred) });
        if (done.backup_codes && done.backup_codes.length) {
          var list = document.getElementById("passkey-codes");
          list.textContent = "";
          done.backup_codes.forEach(function (code) {
            var li = document.createElement("li"), c = document.createElement("code");
            c.textContent = code;
            li.appendChild(c);
            list.appendChild(li);
          });
          list.hidden = false;
          say("Passkey added. Save these backup codes now: they are shown only once. Then reload the page.");
          return;
        }
        window.location.assign(done.redirect);
      } catch (e) {
        say(explain(e));
      }
    });
  }

  ["passkey-login", "passkey-mfa"].forEach(function (id) {
    var btn = document.getElementById(id);
    if (btn) signInButton(btn);
  });
  var form = document.getElementById("passkey-add");
  if (form) addForm(form);
})();
