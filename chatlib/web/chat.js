// The chat page's client: one WebSocket to the server that sent this page.
//
// The protocol is the assignment's: the first message is your name; the server answers with
// "[Server]: Welcome, NAME! ..." or with the reason the name was refused; after that, every
// message is a line of the chat. Every line is shown with textContent, never as HTML, so a
// message like <img src=x onerror=alert(1)> is shown as typed and runs nothing.
//
// A private room (chat-server --token-file) wants its token as the very first message, before
// the name; it closes the connection with 1008 (policy violation) otherwise. The page learns
// that the room is private from that close, asks for the token, and from then on sends it
// first on every connection.
"use strict";

const SERVER_PREFIX = "[Server]: ";
const FIRST_DELAY = 500; // Milliseconds before the first attempt to reconnect...
const MAX_DELAY = 10000; // ...doubling after each failure, up to this.
const POLICY_VIOLATION = 1008; // The close code of a refused token (chatlib.chat_server.TOKEN_REFUSED).
const ANNOUNCEMENTS = {
  connected: "Connected to the chat server.",
  disconnected: "Disconnected from the chat server. Trying to reconnect…",
};

const stateLabel = document.getElementById("state");
const announcement = document.getElementById("announcement");
const joinForm = document.getElementById("join");
const nameInput = document.getElementById("name");
const nameError = document.getElementById("name-error");
const tokenField = document.getElementById("token-field");
const tokenInput = document.getElementById("token");
const log = document.getElementById("log");
const sendForm = document.getElementById("send");
const messageInput = document.getElementById("message");

let socket = null; // The current connection, or null between attempts.
let name = null; // The name we asked for; sent again after reconnecting.
let token = null; // The room's token, once asked for; sent first on every connection.
let joined = false; // True once the server welcomed us under that name.
let delay = FIRST_DELAY;
let retryTimer = null;
let lastAnnounced = null; // The last connection state told to screen readers.

function chatUrl() {
  // The server that sent this page, at the page's own address. Keep the path: behind a proxy
  // it is the way to this server (https://hub/user/alice/proxy/8765/ ->
  // wss://hub/user/alice/proxy/8765/). "." drops the file name, the query and the fragment.
  const url = new URL(".", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

function showState(state, text) {
  stateLabel.dataset.state = state;
  stateLabel.textContent = text;
  announceConnection(state);
}

function announceConnection(state) {
  // Tell screen readers when the connection is made or lost, once each: not the attempts in
  // between, nor every "retrying in N s" (the label above shows those to the eye).
  const news = ANNOUNCEMENTS[state];
  if (news === undefined || state === lastAnnounced) return;
  lastAnnounced = state;
  announcement.textContent = news;
}

function addLine(text, kind) {
  const item = document.createElement("li");
  item.textContent = text; // Text, never HTML.
  if (kind) item.className = kind;
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
  log.append(item);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  showState("connecting", "connecting…");
  const ws = new WebSocket(chatUrl());
  socket = ws;
  ws.addEventListener("open", () => {
    delay = FIRST_DELAY;
    showState("connected", "connected");
    if (token !== null) ws.send(token); // A private room reads its token first.
    if (name !== null) ws.send(name); // Join (again) under the chosen name.
  });
  ws.addEventListener("message", (event) => {
    if (typeof event.data === "string") receive(event.data);
  });
  ws.addEventListener("close", (event) => {
    if (ws !== socket) return;
    socket = null;
    if (tokenRefused(event)) {
      askForToken(); // No retry: the same token would be refused again.
      return;
    }
    if (joined) addLine("Disconnected from the server: reconnecting…", "note");
    joined = false;
    // Exponential backoff: a restarting server is not hammered, a quick one is soon found.
    showState("disconnected", `disconnected: retrying in ${delay / 1000} s`);
    retryTimer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, MAX_DELAY);
  });
}

function tokenRefused(event) {
  // 1008 also ends a connection that chose no name in time; only this reason is about the token.
  return event.code === POLICY_VIOLATION && event.reason.includes("token");
}

function askForToken() {
  const refusedOne = token !== null;
  token = null;
  joined = false;
  joinForm.hidden = false;
  sendForm.hidden = true;
  tokenField.hidden = false;
  tokenInput.value = "";
  nameError.textContent = refusedOne
    ? "That token was refused: check it and join again."
    : "This room is private: type its token, then join.";
  nameError.hidden = false;
  showState("locked", "private room: token needed");
  tokenInput.focus();
}

function receive(text) {
  if (joined) {
    addLine(text, text.startsWith(SERVER_PREFIX) ? "server" : null);
  } else if (name !== null && text.startsWith(`${SERVER_PREFIX}Welcome, ${name}!`)) {
    joined = true;
    joinForm.hidden = true;
    nameError.hidden = true;
    sendForm.hidden = false;
    addLine(text, "server");
    messageInput.focus();
  } else if (text.startsWith(SERVER_PREFIX)) {
    // Before the welcome, the server only writes why the name was refused.
    nameError.textContent = text.slice(SERVER_PREFIX.length);
    nameError.hidden = false;
    joinForm.hidden = false;
    sendForm.hidden = true;
    name = null;
    nameInput.focus();
  }
}

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  // The server trims and normalizes names the same way before it welcomes them.
  const wanted = nameInput.value.trim().normalize("NFC");
  if (!wanted) return;
  if (!tokenField.hidden) {
    if (!tokenInput.value) {
      tokenInput.focus();
      return;
    }
    token = tokenInput.value;
  }
  name = wanted;
  nameError.hidden = true;
  if (socket !== null && socket.readyState === WebSocket.OPEN) {
    socket.send(name);
  } else if (socket === null) {
    connect(); // Don't wait for the next attempt; the name is sent once connected.
  }
});

sendForm.addEventListener("submit", (event) => {
  event.preventDefault(); // Enter in the input line lands here.
  const text = messageInput.value;
  if (!text.trim()) return;
  if (!joined || socket === null || socket.readyState !== WebSocket.OPEN) {
    addLine("Not connected: your message was not sent (it is still in the input line).", "note");
    return;
  }
  socket.send(text);
  addLine(`[${name}]: ${text}`, "mine"); // The server does not send our own lines back.
  messageInput.value = "";
});

connect();
