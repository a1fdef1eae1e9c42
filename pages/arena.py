"""The public arena (`/arena`): two blind excerpts, a vote, then who made which and the
leaderboard. Anyone may use it; votes go to the standing pairwise study `arena`."""

from ui import arena
from ui.database import engine as database_engine

arena.arena_view(database_engine())
