// The city dashboard's sign-in: a session cookie (HttpOnly, SameSite=Strict) on success.
"use strict";

const form = document.getElementById("sign-in-form");
const error = document.getElementById("error");

fetch("/dashboard/api/me", {credentials: "same-origin"}).then((r) => {
  if (r.ok) location.replace("/dashboard");
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  let reply;
  try {
    reply = await fetch("/dashboard/api/sign-in", {
      method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({login: form.login.value.trim(), password: form.password.value}),
    });
  } catch (e) {
    error.textContent = "Нет связи с сервером / The server cannot be reached";
    return;
  }
  if (reply.ok) {
    location.replace("/dashboard");
    return;
  }
  const body = await reply.json().catch(() => ({}));
  const said = typeof body.detail === "string" ? body.detail : "";
  error.textContent = reply.status === 401 ? "Неверный логин или пароль, или учётная запись отключена / " + said
    : reply.status === 429 ? "Слишком много неудачных попыток / " + said
    : "Вход не удался / Sign-in failed: " + (said || reply.status);
});
