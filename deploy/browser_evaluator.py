"""One evaluator in Chromium: the Playwright steps a person takes through the study page.

Shared by the browser tests, the load driver (`deploy/load.py`) and the replica test, so
that every figure and every check walks the same clicks. The study is "tiny"
(`drumeval/study/synthetic.py`); the helpers wait for Streamlit's script runs to settle and
raise with the step's name when the page does not do what a person would see.
"""

from urllib.parse import parse_qs, urlparse

from drumeval.study import content, flow, headphone

WAIT_MS = 60_000


def radio_group(page, label: str):
    return page.locator("[data-testid='stRadio']").filter(has_text=label).first


def choose(page, label: str, option: str) -> None:
    radio_group(page, label).get_by_text(option, exact=True).click()


def settle(page) -> None:
    """Wait until the script run triggered by the last action has finished."""
    page.wait_for_timeout(300)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        timeout=WAIT_MS
    )


def audio_player(page, heading: str):
    """The player of the clip under `heading` (the previous clip's lingers during a rerun)."""
    token = "0" if heading == "Practice clip" else heading.split()[1]
    player = page.locator(f"audio[data-token='{token}']")
    player.wait_for(state="attached", timeout=WAIT_MS)
    return player


def wait_until_unlocked(page, heading: str) -> None:
    """Wait for this clip's player to unlock the form, and for the page to show it."""
    token = "0" if heading == "Practice clip" else heading.split()[1]
    player = page.locator(".player").filter(has=page.locator(f"audio[data-token='{token}']"))
    player.locator(".status.done").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Submit rating").wait_for(timeout=WAIT_MS)
    settle(page)


def token_of(page) -> str:
    return parse_qs(urlparse(page.url).query)["t"][0]


def consent_and_questionnaire(page) -> None:
    """Agree to the consent text and answer the questionnaire."""
    page.get_by_role("button", name="I agree — start the study").click()
    page.get_by_text("A few questions about you").wait_for(timeout=WAIT_MS)
    for _key, question, options in content.QUESTIONNAIRE:
        choose(page, question, options[-1])
    page.get_by_role("button", name="Continue").click()


def headphone_sounds(page, count: int = headphone.TRIALS):
    """The headphone check's `count` sounds (six per test), once the page shows them all."""
    page.get_by_text("Headphone check").first.wait_for(timeout=WAIT_MS)
    sounds = page.locator("audio[src^='/clips/']")
    sounds.nth(count - 1).wait_for(state="attached", timeout=WAIT_MS)
    if sounds.count() != count:
        raise RuntimeError(f"{sounds.count()} headphone sounds, expected {count}")
    return sounds


def headphone_question(number: int, trial: headphone.ScreenTrial | None = None) -> str:
    """What the page asks about sound `number`: of an anti-phase trial (the default) the
    quietest tone, of a Huggins trial the noise with the faint tone."""
    kind = headphone.Trial if trial is None else type(trial)
    return headphone.WORDING[kind].question.format(number=number)


def headphone_answers(page, number: int, trial: headphone.ScreenTrial | None = None):
    """The radio buttons that answer sound `number` (an anti-phase one unless `trial` says)."""
    return radio_group(page, headphone_question(number, trial)).locator("input")


def play_to_the_end(sounds, only: list[int] | None = None) -> None:
    """Play the headphone sounds `sounds` (a locator: one or several, all at once; `only`:
    those at these indexes) from the start to their end at normal speed; returns when every
    one has ended."""
    durations = sounds.evaluate_all(
        "(sounds, only) => Promise.all(sounds.filter((_, i) => !only || only.includes(i))"
        ".map(audio => audio.readyState > 0 ? audio.duration :"
        " new Promise(resolve => audio.addEventListener("
        "'loadedmetadata', () => resolve(audio.duration), { once: true }))))",
        only,
    )
    if min(durations) <= 3:
        raise RuntimeError("a headphone sound does not load as a full trial")
    sounds.evaluate_all(
        "(sounds, only) => Promise.all(sounds.filter((_, i) => !only || only.includes(i))"
        ".map(audio => new Promise(resolve => {"
        " audio.addEventListener('ended', resolve, { once: true });"
        " audio.currentTime = 0; audio.play(); })))",
        only,
    )


_ANSWERABLE_JS = (
    "label => [...document.querySelectorAll(\"[data-testid='stRadio']\")]"
    ".filter(group => group.textContent.includes(label))"
    ".some(group => [...group.querySelectorAll('input')].every(i => !i.disabled))"
)


def wait_until_answerable(page, number: int, trial: headphone.ScreenTrial | None = None) -> None:
    """Wait until the answers to sound `number` (an anti-phase one unless `trial` says) are
    unlocked."""
    page.wait_for_function(_ANSWERABLE_JS, arg=headphone_question(number, trial), timeout=WAIT_MS)


def play_every_sound(page, trials: tuple[headphone.ScreenTrial, ...]) -> None:
    """Play the screen's sounds to the end, six at a time once the page is idle, then again
    each one whose answers are still locked, as a listener told to play a sound "once or
    twice" would: a player counts a second only from progress reports under a second apart,
    so a sound that ends while the page reruns (the previous sounds' reports) can miss its
    last second and stay locked."""
    sounds = headphone_sounds(page, len(trials))
    groups = [
        list(range(start, min(start + headphone.TRIALS, len(trials))))
        for start in range(0, len(trials), headphone.TRIALS)
    ]
    for _ in range(3):
        for group in groups:
            settle(page)
            play_to_the_end(sounds, group)
        settle(page)
        locked = [
            index
            for index, trial in enumerate(trials)
            if not page.evaluate(_ANSWERABLE_JS, headphone_question(index + 1, trial))
        ]
        groups = [locked] if locked else []
    for number, trial in enumerate(trials, start=1):
        wait_until_answerable(page, number, trial)


def pass_headphone_check(page, engine, token: str, slug: str = "tiny") -> None:
    """Play every sound to the end (the answers unlock one by one), then answer each rightly
    by the trial's own answer, whichever test it belongs to (anti-phase, Huggins or both)."""
    study = flow.load_study(engine, slug)
    trials = flow.headphone_trials(
        flow.progress(engine, study, token), study.design.headphone_screen
    )
    play_every_sound(page, trials)
    settle(page)
    for number, trial in enumerate(trials, start=1):
        option = headphone.WORDING[type(trial)].option
        choose(page, headphone_question(number, trial), f"{option} {trial.answer + 1}")
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("How to rate").wait_for(timeout=WAIT_MS)


def consent_and_screen(page, engine, slug: str = "tiny") -> str:
    consent_and_questionnaire(page)
    page.get_by_text("Headphone check").first.wait_for(timeout=WAIT_MS)
    page.locator("audio[src^='/clips/']").first.wait_for(state="attached", timeout=WAIT_MS)
    token = token_of(page)
    pass_headphone_check(page, engine, token, slug)
    return token


def rate_current_clip(page, heading: str) -> None:
    page.get_by_text(heading, exact=True).wait_for(timeout=WAIT_MS)
    locked = page.get_by_role("button", name="Listen first to unlock the rating")
    if not locked.is_disabled():
        raise RuntimeError(f"{heading}: the rating form is open before the clip was heard")
    listen_to_the_end(page, heading)
    fill_rating(page, "+", "Jazz / soul", "4")
    page.get_by_role("button", name="Submit rating").click()
    page.get_by_text(heading, exact=True).wait_for(state="detached", timeout=WAIT_MS)


def listen_to_the_end(page, heading: str) -> None:
    """Play the clip until the form unlocks, then let it end and its last report rerun the
    page, as a person who listens to the end does (a click in the middle of a rerun can be
    dropped)."""
    audio_player(page, heading).evaluate("audio => audio.play()")
    wait_until_unlocked(page, heading)
    audio = audio_player(page, heading)
    for _ in range(100):
        if audio.evaluate("audio => audio.ended"):
            break
        page.wait_for_timeout(200)
    settle(page)


def fill_rating(page, score: str, genre: str, confidence: str) -> None:
    for criterion in content.CRITERIA:
        choose(page, criterion.label, score)
    choose(page, content.GENRE_QUESTION, genre)
    choose(page, "How sure are you about the genre?", confidence)


# --- pairwise and multi-stimulus pages ---------------------------------------------------


def pair_player(page, number: int):
    """The A/B player of pair `number` (the previous pair's lingers during a rerun)."""
    audio = page.locator(f"audio.side[data-side='0'][data-token='{number}']")
    audio.wait_for(state="attached", timeout=WAIT_MS)
    return page.locator(".ab-player").filter(has=audio)


def play_side_to_the_end(player, side: str) -> None:
    """Pick side A or B and play it from the start to its end (returns once it ended)."""
    player.get_by_role("button", name=side, exact=True).click()
    player.evaluate(
        "(player, side) => { const audio = player.querySelectorAll('audio.side')[side];"
        " if (!audio.paused) audio.pause();"
        " return new Promise(done => { audio.addEventListener('ended', done, { once: true });"
        " audio.currentTime = 0; audio.play(); }); }",
        "AB".index(side),
    )


def vote_current_pair(page, number: int, total: int, outcome: str, *, double: bool = False):
    """Hear both sides of pair `number` to the end, then vote (`double`: a double click)."""
    heading = f"Pair {number} of {total}"
    page.get_by_text(heading, exact=True).wait_for(timeout=WAIT_MS)
    settle(page)  # the previous pair's buttons linger until the rerun has finished
    vote = page.get_by_role("button", name=outcome, exact=True)
    if not vote.is_disabled():
        raise RuntimeError(f"{heading}: the vote is open before A and B were heard")
    player = pair_player(page, number)
    play_side_to_the_end(player, "A")
    play_side_to_the_end(player, "B")
    player.locator(".status.done").wait_for(timeout=WAIT_MS)
    settle(page)
    page.wait_for_function(
        "label => [...document.querySelectorAll('button')].some("
        "b => b.innerText.trim() === label && !b.disabled)",
        arg=outcome,
        timeout=WAIT_MS,
    )
    if double:
        vote.dblclick()
    else:
        vote.click()
    page.get_by_text(heading, exact=True).wait_for(state="detached", timeout=WAIT_MS)


def score_current_page(page, number: int, total: int, tracks: int) -> None:
    """Play every track of multi-stimulus page `number` to the end and move every slider."""
    heading = f"Page {number} of {total}"
    page.get_by_text(heading, exact=True).wait_for(timeout=WAIT_MS)
    audios = page.locator("audio[data-token^='" + f"{number}-" + "']")
    for index in range(tracks):
        audios.nth(index).wait_for(state="attached", timeout=WAIT_MS)
    play_to_the_end(audios)
    settle(page)
    for index in range(tracks):
        thumb = page.get_by_role("slider").nth(index)
        thumb.focus()
        thumb.press("ArrowRight" if index % 2 else "ArrowLeft")
        settle(page)
    page.get_by_role("button", name="Submit", exact=True).click()
    page.get_by_text(heading, exact=True).wait_for(state="detached", timeout=WAIT_MS)
