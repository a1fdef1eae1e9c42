"""A blind audio player that tells the server how much of the clip was really heard.

Built with `st.components.v2` (inline HTML + JS, no build step, no network): the browser
counts the distinct seconds of the clip that played at normal speed (seeking ahead does not
count, replays do not count twice), the number of plays and seeks, and whether the clip
ended, and reports them back. The audio comes from `/clips/<sha256>.<ext>`
(`drumeval.clipserve`): a content hash reveals nothing about the clip, a rerun re-sends only the
URL, and the next clip's URL is fetched into the browser's cache while this one plays, so it is
ready the moment the rating is submitted.
"""

from dataclasses import dataclass

import streamlit as st

_HTML = """
<div class="player">
  <audio controls preload="auto" controlslist="nodownload noplaybackrate"></audio>
  <div class="status" aria-live="polite"></div>
</div>
"""

_CSS = """
.player { display: flex; flex-direction: column; gap: 0.35rem; font-family: var(--st-font); }
audio { width: 100%; }
.status { color: var(--st-text-color); opacity: 0.75; font-size: 0.9rem; }
.status.done { color: var(--st-primary-color); opacity: 1; }
"""

_JS = """
const players = new WeakMap();

function format(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const audio = parentElement.querySelector("audio");
  const status = parentElement.querySelector(".status");
  let player = players.get(parentElement);
  if (player && player.token === data.token) {
    return;
  }
  // A remounted player (Streamlit may rebuild the element on a rerun) starts from what the
  // server already knows, so the count never goes backwards.
  const floor = data.heard_floor || 0;
  player = { token: data.token, heard: new Set(), plays: data.plays_floor || 0, seeks: 0,
             ended: false, last: null, reported: -1, unlocked: floor >= data.min_seconds };
  players.set(parentElement, player);
  audio.src = data.src;
  audio.dataset.token = data.token;
  if (data.prefetch) {
    // Warm the HTTP cache with the next clip (immutable, cached for a year) once this one
    // has loaded, so that it does not compete with the clip being heard.
    const prefetch = () => fetch(data.prefetch, { credentials: "same-origin" })
      .then((response) => response.blob()).catch(() => {});  // read whole: cached whole
    if (audio.readyState >= 3) prefetch();
    else audio.addEventListener("canplaythrough", prefetch, { once: true });
  }
  const minimum = data.min_seconds;

  const heardSeconds = () => Math.max(floor, player.heard.size);
  const show = () => {
    const left = minimum - heardSeconds();
    if (left > 0) {
      status.textContent = data.locked_text + ": " + format(left) + " left.";
      status.classList.remove("done");
    } else {
      status.textContent = data.unlocked_text;
      status.classList.add("done");
    }
  };
  const report = () => {
    player.reported = heardSeconds();
    setStateValue("progress", {
      token: player.token, heard_seconds: heardSeconds(), plays: player.plays,
      seeks: player.seeks, ended: player.ended,
    });
  };
  audio.addEventListener("timeupdate", () => {
    const now = audio.currentTime;
    if (player.last !== null && !audio.seeking) {
      const step = now - player.last;
      if (step > 0 && step < 1.0) {
        for (let s = Math.floor(player.last); s < Math.floor(now); s++) player.heard.add(s);
      }
    }
    player.last = now;
    show();
    const unlocked = heardSeconds() >= minimum;
    if (unlocked && !player.unlocked) { player.unlocked = true; report(); }
    else if (heardSeconds() - player.reported >= 15) { report(); }
  });
  audio.addEventListener("seeking", () => { player.seeks += 1; player.last = null; });
  audio.addEventListener("seeked", () => { player.last = audio.currentTime; });
  audio.addEventListener("play", () => { player.plays += 1; player.last = audio.currentTime; });
  audio.addEventListener("pause", () => { if (!audio.ended) report(); });
  audio.addEventListener("ended", () => {
    const end = Math.floor(audio.duration || 0);
    if (player.last !== null && end - player.last < 1.0) {
      for (let s = Math.floor(player.last); s < end; s++) player.heard.add(s);
    }
    player.ended = true; player.last = null; show(); report();
  });
  audio.addEventListener("ratechange", () => {
    if (audio.playbackRate !== 1) audio.playbackRate = 1;
  });
  show();
}
"""

_player = st.components.v2.component("drumeval_player", html=_HTML, css=_CSS, js=_JS)


@dataclass(frozen=True)
class Listening:
    """What the browser reported for one clip."""

    heard_seconds: float = 0.0
    plays: int = 0
    seeks: int = 0
    ended: bool = False

    def reached(self, min_seconds: float) -> bool:
        """Whether the minimum was heard (half a second of slack for the last timeupdate)."""
        return self.heard_seconds + 0.5 >= min_seconds


def blind_player(
    *,
    src: str,
    token: str,
    min_seconds: float,
    key: str,
    prefetch: str | None = None,
    locked_text: str = "Listen to unlock the rating form",
    unlocked_text: str = "You can rate this clip now (keep listening if you like).",
) -> Listening:
    """Mount the player for the clip at URL `src` and return what the browser reported so far.

    `token` identifies the clip on this page only (e.g. its position); a new token resets
    the counters in the browser. `prefetch`: the next clip's URL, fetched in the background.
    The status line reads `locked_text: 0:42 left.` until `min_seconds` were heard, then
    `unlocked_text` (the headphone check's sounds use the same player, with their own words).
    """
    floor_key = f"{key}:heard"
    known: Listening = st.session_state.get(floor_key) or Listening()
    result = _player(
        key=key,
        data={
            "src": src,
            "prefetch": prefetch,
            "token": token,
            "min_seconds": min_seconds,
            "locked_text": locked_text,
            "unlocked_text": unlocked_text,
            "heard_floor": known.heard_seconds,
            "plays_floor": known.plays,
        },
        default={"progress": None},
        on_progress_change=lambda: None,
    )
    progress = getattr(result, "progress", None) or {}
    if progress.get("token") != token:
        return known
    reported = Listening(
        heard_seconds=max(known.heard_seconds, float(progress.get("heard_seconds", 0))),
        plays=max(known.plays, int(progress.get("plays", 0))),
        seeks=int(progress.get("seeks", 0)),
        ended=known.ended or bool(progress.get("ended", False)),
    )
    st.session_state[floor_key] = reported
    return reported
