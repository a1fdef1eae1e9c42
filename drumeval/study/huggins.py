"""The Huggins-pitch headphone screening test of Milne et al. (2021, Behav Res Methods 53:1551).

Each trial plays three 1 s bursts of white noise; in one of them a narrow band (±6 %) around
600 Hz is phase-inverted in one ear only. Over headphones the two ears' signals meet in the
brain and that burst carries a faint tone (the Huggins pitch); over loudspeakers the channels
mix in the air and the three bursts sound alike. The listener says which burst had the tone.
It detects about 80 % of headphone users at about 20 % false positives; combined with the
anti-phase test (`drumeval.study.headphone`) false positives fall to about 7 %.

Noise comes from seeded numpy generators, so a participant who reloads hears the same
trials; every trial and every burst has noise of its own (no sound repeats).
"""

import functools
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22_050
CENTRE_HZ = 600.0
BANDWIDTH = 0.06  # the inverted band: centre ± 6 %
BURST_SECONDS = 1.0
GAP_SECONDS = 0.5
RAMP_SECONDS = 0.02
LEVEL = 0.2  # RMS of the noise: comfortable at a normal volume setting, far from clipping
TRIAL_SECONDS = 3 * BURST_SECONDS + 2 * GAP_SECONDS
TRIALS = 6
PASS_MARK = 5


@dataclass(frozen=True)
class HugginsTrial:
    """One trial: which burst (0, 1, 2) carries the pitch, and the seed of its noise."""

    target_index: int
    noise_seed: int

    @property
    def answer(self) -> int:
        return self.target_index


def make_trials(seed: int) -> tuple[HugginsTrial, ...]:
    """Six trials, the pitch in each burst position twice, in a seeded order, each with its
    own noise."""
    rng = np.random.default_rng([seed, 0x4855])
    targets = rng.permutation(np.repeat(np.arange(3), TRIALS // 3))
    seeds = rng.choice(2**31, size=TRIALS, replace=False)
    return tuple(
        HugginsTrial(int(target), int(noise)) for target, noise in zip(targets, seeds, strict=True)
    )


def _ramped(samples: np.ndarray) -> np.ndarray:
    ramp = int(SAMPLE_RATE * RAMP_SECONDS)
    envelope = np.ones(len(samples))
    envelope[:ramp] = np.sin(np.linspace(0, np.pi / 2, ramp)) ** 2
    envelope[-ramp:] = envelope[:ramp][::-1]
    return samples * envelope[:, None]


def burst(rng: np.random.Generator, *, with_pitch: bool) -> np.ndarray:
    """`[samples, 2]` white noise, the same in both ears, or — `with_pitch` — with the band
    around `CENTRE_HZ` inverted in the right ear only."""
    length = int(SAMPLE_RATE * BURST_SECONDS)
    noise = rng.standard_normal(length)
    noise *= LEVEL / np.sqrt(np.mean(noise**2))
    right = noise
    if with_pitch:
        spectrum = np.fft.rfft(noise)
        hertz = np.fft.rfftfreq(length, 1 / SAMPLE_RATE)
        band = np.abs(hertz - CENTRE_HZ) <= BANDWIDTH * CENTRE_HZ
        spectrum[band] *= -1.0  # a 180° interaural phase shift of the band
        right = np.fft.irfft(spectrum, n=length)
    return _ramped(np.stack([noise, right], axis=1))


def trial_samples(trial: HugginsTrial) -> np.ndarray:
    """`[samples, 2]` float stereo: three bursts separated by silence."""
    rng = np.random.default_rng(trial.noise_seed)
    gap = np.zeros((int(SAMPLE_RATE * GAP_SECONDS), 2))
    parts = []
    for index in range(3):
        parts += [burst(rng, with_pitch=index == trial.target_index), gap]
    return np.clip(np.concatenate(parts[:-1]), -1.0, 1.0)


@functools.cache
def trial_wav(trial: HugginsTrial) -> bytes:
    """The trial as 16-bit stereo WAV bytes (no metadata)."""
    from drumeval.audio.encode import wav_bytes

    return wav_bytes(trial_samples(trial), SAMPLE_RATE)
