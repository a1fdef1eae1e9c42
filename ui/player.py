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

function spans(seconds) {
  const out = [];
  for (const second of [...seconds].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && last[1] === second) last[1] = second + 1;
    else out.push([second, second + 1]);
  }
  return out;
}

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
  // A remounted player (Streamlit may rebuild the element on a rerun, a reload builds a new
  // page) starts from what the server already knows, so the count never goes backwards and
  // the seconds heard before a reload are not asked for again.
  const floor = data.heard_floor || 0;
  const heard = new Set();
  for (const [start, end] of data.heard_spans || []) {
    for (let s = start; s < end; s++) heard.add(s);
  }
  player = { token: data.token, heard, plays: data.plays_floor || 0, seeks: 0, ended: false,
             last: null, reported: -1, resuming: false,
             unlocked: Math.max(floor, heard.size) >= data.min_seconds };
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
      token: player.token, heard_seconds: heardSeconds(), heard_spans: spans(player.heard),
      plays: player.plays, seeks: player.seeks, ended: player.ended,
    });
  };
  // After a reload, play on from the first second not heard yet (not from the start).
  const resume = () => {
    let second = 0;
    while (player.heard.has(second)) second += 1;
    if (second > 0 && second < (audio.duration || 0) - 1) {
      player.resuming = true;
      audio.currentTime = second;
    }
  };
  if (player.heard.size > 0) {
    if (audio.readyState >= 1) resume();
    else audio.addEventListener("loadedmetadata", resume, { once: true });
  }
  audio.addEventListener("timeupdate", () => {
    const now = audio.currentTime;
    if (player.last !== null && !audio.seeking) {
      const step = now - player.last;
      if (step > 0) {  // no seek in between: played, however late this event came
        for (let s = Math.floor(player.last); s < Math.floor(now); s++) player.heard.add(s);
      }
    }
    player.last = now;
    show();
    const unlocked = heardSeconds() >= minimum;
    if (unlocked && !player.unlocked) { player.unlocked = true; report(); }
    else if (heardSeconds() - player.reported >= data.report_every_seconds) { report(); }
  });
  audio.addEventListener("seeking", () => {
    if (player.resuming) player.resuming = false;
    else player.seeks += 1;
    player.last = null;
  });
  audio.addEventListener("seeked", () => { player.last = audio.currentTime; });
  audio.addEventListener("play", () => {
    player.plays += 1; player.last = audio.currentTime; report();
  });
  audio.addEventListener("pause", () => { if (!audio.ended) report(); });
  audio.addEventListener("ended", () => {
    const end = Math.floor(audio.duration || 0);
    if (player.last !== null) {
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

# How often a playing clip reports its progress (each report reruns the page, which saves it).
REPORT_EVERY_SECONDS = 3

_player = st.components.v2.component("drumeval_player", html=_HTML, css=_CSS, js=_JS)


@dataclass(frozen=True)
class Listening:
    """What the browser reported for one clip."""

    heard_seconds: float = 0.0
    heard_spans: tuple[tuple[int, int], ...] = ()  # [start, end) whole seconds heard
    plays: int = 0
    seeks: int = 0
    ended: bool = False

    def reached(self, min_seconds: float) -> bool:
        """Whether the minimum was heard (half a second of slack for the last timeupdate)."""
        return self.heard_seconds + 0.5 >= min_seconds

    def merged(self, newer: "Listening") -> "Listening":
        """What two reports of one clip know together: counts never go backwards."""
        more_heard = newer if newer.heard_seconds >= self.heard_seconds else self
        return Listening(
            heard_seconds=more_heard.heard_seconds,
            heard_spans=more_heard.heard_spans,
            plays=max(self.plays, newer.plays),
            seeks=max(self.seeks, newer.seeks),
            ended=self.ended or newer.ended,
        )


def blind_player(
    *,
    src: str,
    token: str,
    min_seconds: float,
    key: str,
    prefetch: str | None = None,
    restored: Listening | None = None,
    locked_text: str = "Listen to unlock the rating form",
    unlocked_text: str = "You can rate this clip now (keep listening if you like).",
) -> Listening:
    """Mount the player for the clip at URL `src` and return what the browser reported so far.

    `token` identifies the clip on this page only (e.g. its position); a new token resets
    the counters in the browser. `prefetch`: the next clip's URL, fetched in the background.
    `restored`: what the server kept of this clip's listening (a reload continues from it).
    The status line reads `locked_text: 0:42 left.` until `min_seconds` were heard, then
    `unlocked_text` (the headphone check's sounds use the same player, with their own words).
    """
    floor_key = f"{key}:heard"
    known: Listening = st.session_state.get(floor_key) or Listening()
    if restored is not None:
        known = known.merged(restored)
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
            "heard_spans": [list(span) for span in known.heard_spans],
            "report_every_seconds": REPORT_EVERY_SECONDS,
            "plays_floor": known.plays,
        },
        default={"progress": None},
        on_progress_change=lambda: None,
    )
    progress = getattr(result, "progress", None) or {}
    if progress.get("token") != token:
        return known
    reported = known.merged(
        Listening(
            heard_seconds=float(progress.get("heard_seconds", 0)),
            heard_spans=tuple(
                (int(start), int(end)) for start, end in progress.get("heard_spans") or ()
            ),
            plays=int(progress.get("plays", 0)),
            seeks=int(progress.get("seeks", 0)),
            ended=bool(progress.get("ended", False)),
        )
    )
    st.session_state[floor_key] = reported
    return reported


# --- two clips in one player: A and B at the same position -------------------------------

_AB_HTML = """
<div class="ab-player">
  <audio class="side" data-side="0" preload="auto"></audio>
  <audio class="side" data-side="1" preload="auto"></audio>
  <div class="controls" role="group" aria-label="Player">
    <button type="button" class="play">Play</button>
    <button type="button" class="pick" data-side="0" aria-pressed="true">A</button>
    <button type="button" class="pick" data-side="1" aria-pressed="false">B</button>
    <span class="time">0:00</span>
  </div>
  <div class="status" aria-live="polite"></div>
</div>
"""

_AB_CSS = """
.ab-player { display: flex; flex-direction: column; gap: 0.4rem; font-family: var(--st-font); }
.controls { display: flex; gap: 0.5rem; align-items: center; }
button { font: inherit; padding: 0.35rem 1rem; border-radius: 0.5rem; cursor: pointer;
         border: 1px solid var(--st-border-color, #ccc); background: transparent;
         color: var(--st-text-color); }
button[aria-pressed="true"] { background: var(--st-primary-color); color: white; }
.status, .time { color: var(--st-text-color); opacity: 0.75; font-size: 0.9rem; }
.status.done { color: var(--st-primary-color); opacity: 1; }
"""

_AB_JS = """
const players = new WeakMap();

function format(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let player = players.get(parentElement);
  if (player && player.token === data.token) return;
  const audios = [...parentElement.querySelectorAll("audio.side")];
  const picks = [...parentElement.querySelectorAll("button.pick")];
  const play = parentElement.querySelector("button.play");
  const time = parentElement.querySelector(".time");
  const status = parentElement.querySelector(".status");
  // Seconds heard per side start from what the server kept (a reload asks for nothing twice).
  const heard = [new Set(), new Set()];
  const floor = data.heard_floor || [0, 0];
  player = { token: data.token, active: 0, plays: 0, last: null, unlocked: false };
  players.set(parentElement, player);
  audios.forEach((audio, side) => {
    audio.src = data.sources[side];
    audio.dataset.token = data.token;
  });
  const heardSeconds = (side) => Math.max(floor[side] || 0, heard[side].size);
  const minimum = data.min_seconds;
  const show = () => {
    const left = [0, 1].map((side) => minimum - heardSeconds(side));
    if (left.every((value) => value <= 0)) {
      status.textContent = data.unlocked_text;
      status.classList.add("done");
    } else {
      status.textContent = data.locked_text + ": A " + format(left[0]) + " left, B "
        + format(left[1]) + " left.";
      status.classList.remove("done");
    }
    time.textContent = format(audios[player.active].currentTime);
  };
  const report = () => setStateValue("progress", {
    token: player.token, heard_seconds: [heardSeconds(0), heardSeconds(1)], plays: player.plays,
  });
  const pick = (side) => {
    if (side === player.active) return;
    const from = audios[player.active], to = audios[side];
    const playing = !from.paused;
    from.pause();
    to.currentTime = Math.min(from.currentTime, (to.duration || from.currentTime));
    player.active = side; player.last = null;
    picks.forEach((button, index) => button.setAttribute("aria-pressed", String(index === side)));
    if (playing) to.play();
    show();
  };
  picks.forEach((button, side) => button.addEventListener("click", () => pick(side)));
  play.addEventListener("click", () => {
    const audio = audios[player.active];
    if (audio.paused) {
      // At the end (or parked there by a switch from a side that ended): from the start.
      if (audio.ended || audio.currentTime >= (audio.duration || Infinity) - 0.25) {
        audio.currentTime = 0;
      }
      audio.play();
    }
    else audio.pause();
  });
  audios.forEach((audio, side) => {
    audio.addEventListener("play", () => {
      play.textContent = "Pause"; player.plays += 1; player.last = audio.currentTime; report();
    });
    audio.addEventListener("pause", () => {
      play.textContent = "Play"; player.last = null; report();
    });
    audio.addEventListener("timeupdate", () => {
      if (side !== player.active || audio.paused) return;
      const now = audio.currentTime;
      if (player.last !== null && !audio.seeking) {
        const step = now - player.last;
        if (step > 0) {  // no switch or seek in between: played, however late this came
          for (let s = Math.floor(player.last); s < Math.floor(now); s++) heard[side].add(s);
        }
      }
      player.last = now;
      show();
      const unlocked = [0, 1].every((s) => heardSeconds(s) >= minimum);
      if (unlocked && !player.unlocked) { player.unlocked = true; report(); }
    });
    audio.addEventListener("ended", () => {
      const end = Math.floor(audio.duration || 0);
      if (side === player.active && player.last !== null) {
        for (let s = Math.floor(player.last); s < end; s++) heard[side].add(s);
      }
      player.last = null; play.textContent = "Play"; show(); report();
    });
    audio.addEventListener("ratechange", () => {
      if (audio.playbackRate !== 1) audio.playbackRate = 1;
    });
  });
  show();
}
"""

_ab_player = st.components.v2.component("drumeval_ab_player", html=_AB_HTML, css=_AB_CSS, js=_AB_JS)


def ab_player(
    *,
    sources: tuple[str, str],
    token: str,
    min_seconds: float,
    key: str,
    restored: tuple[float, float] = (0.0, 0.0),
    locked_text: str = "Listen to both to unlock the vote",
    unlocked_text: str = "You can vote now (keep listening and switching if you like).",
) -> tuple[tuple[float, float], int]:
    """Mount one player for clips A and B (URLs `sources`) that switches between them at
    the same position; returns the seconds heard per side and the plays, so far.

    Each side counts its own distinct seconds heard while it was the one playing; the vote
    unlocks when both reached `min_seconds`. `restored`: what the server kept of each side.
    """
    floor_key = f"{key}:heard"
    known: tuple[float, float] = st.session_state.get(floor_key) or (0.0, 0.0)
    known = (max(known[0], restored[0]), max(known[1], restored[1]))
    result = _ab_player(
        key=key,
        data={
            "sources": list(sources),
            "token": token,
            "min_seconds": min_seconds,
            "heard_floor": list(known),
            "locked_text": locked_text,
            "unlocked_text": unlocked_text,
        },
        default={"progress": None},
        on_progress_change=lambda: None,
    )
    progress = getattr(result, "progress", None) or {}
    plays = 0
    if progress.get("token") == token:
        reported = progress.get("heard_seconds") or (0.0, 0.0)
        known = (max(known[0], float(reported[0])), max(known[1], float(reported[1])))
        plays = int(progress.get("plays", 0))
    st.session_state[floor_key] = known
    return known, plays
