// Passkeys (WebAuthn) as progressive enhancement (no inline script: the CSP forbids it).
// Forms marked data-passkey stay hidden without JavaScript or WebAuthn, and the codes of the
// authenticator app work as before. On submit: ask data-options for the options (the server
// keeps the challenge), call navigator.credentials, put the answer as WebAuthn JSON (base64url)
// in the field marked data-passkey-answer, and send the form.
"use strict";
(() => {
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  const toBuffer = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };
  const toText = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const withIds = (list) => (list || []).map((c) => ({ ...c, id: toBuffer(c.id) }));

  const creation = (o) => ({
    ...o,
    challenge: toBuffer(o.challenge),
    user: { ...o.user, id: toBuffer(o.user.id) },
    excludeCredentials: withIds(o.excludeCredentials),
  });
  const request = (o) => ({
    ...o,
    challenge: toBuffer(o.challenge),
    allowCredentials: withIds(o.allowCredentials),
  });

  const answer = (credential) => {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) response.userHandle = toText(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  };

  document.querySelectorAll("form[data-passkey]").forEach((form) => {
    form.hidden = false;
    const failed = form.querySelector("[data-passkey-failed]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (failed) failed.hidden = true;
      try {
        const token = form.querySelector("input[name=csrf_token]").value;
        const reply = await fetch(form.dataset.options, {
          method: "POST",
          headers: { "X-CSRFToken": token, Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!reply.ok) throw new Error(`options: ${reply.status}`);
        const options = await reply.json();
        const credential = form.dataset.passkey === "create"
          ? await navigator.credentials.create({ publicKey: creation(options) })
          : await navigator.credentials.get({ publicKey: request(options) });
        form.querySelector("[data-passkey-answer]").value = JSON.stringify(answer(credential));
        form.submit();
      } catch (error) {
        if (failed) failed.hidden = false;
      }
    });
  });
})();
