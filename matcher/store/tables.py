"""The store's tables (SQLAlchemy Core): one schema for every stage and user."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

poles = sa.Table(
    "poles", metadata,
    sa.Column("pole_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("departements", JSON), sa.Column("communes", JSON),
    sa.Column("lat", sa.Float), sa.Column("lon", sa.Float), sa.Column("radius_km", sa.Float),
    sa.Column("cooperative_support", sa.Boolean),
    sa.Column("extra", JSON),
)

companies = sa.Table(
    "companies", metadata,
    sa.Column("siren", sa.String(9), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("naf", sa.String(6)), sa.Column("activity", sa.Text),
    sa.Column("lat", sa.Float, nullable=False), sa.Column("lon", sa.Float, nullable=False),
    sa.Column("commune", sa.String(5)), sa.Column("postal_code", sa.String(5)),
    sa.Column("departement", sa.String(3)),
    sa.Column("headcount", sa.Float), sa.Column("headcount_band", sa.String(2)),
    sa.Column("revenue_eur", sa.Float),
    sa.Column("procedure", sa.String(16), nullable=False, server_default="none"),
    sa.Column("procedure_date", sa.String(10)), sa.Column("offer_deadline", sa.String(10)),
    sa.Column("pole", sa.String(64), index=True),
    sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("ess", sa.Boolean), sa.Column("legal_form", sa.String(4)),
    sa.Column("description", sa.Text),
    sa.Column("source", sa.String(16), nullable=False, server_default="import"),
    sa.Column("extra", JSON),
    sa.Column("updated_at", sa.DateTime),
)

candidates = sa.Table(
    "candidates", metadata,
    sa.Column("candidate_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("naf", sa.String(6)),
    sa.Column("sought_naf", JSON), sa.Column("sought_activity", sa.Text),
    sa.Column("experience_naf", JSON),
    sa.Column("lat", sa.Float, nullable=False), sa.Column("lon", sa.Float, nullable=False),
    sa.Column("commune", sa.String(5)), sa.Column("postal_code", sa.String(5)),
    sa.Column("departement", sa.String(3)),
    sa.Column("radius_km", sa.Float), sa.Column("headcount", sa.Float),
    sa.Column("revenue_eur", sa.Float), sa.Column("budget_eur", sa.Float),
    sa.Column("max_target_headcount", sa.Float), sa.Column("legal_form", sa.String(4)),
    sa.Column("ess", sa.Boolean), sa.Column("esus", sa.Boolean),
    sa.Column("pole", JSON), sa.Column("partners", JSON),
    sa.Column("trains_apprentices", sa.Boolean),
    # "import": declared by the pole (a file or the API); "sirene": built by `import sirene`
    sa.Column("source", sa.String(16), nullable=False, server_default="import"),
    # why it left the pool (SIRENE: ceased, closed, not_in_register) and when; NULL while in it.
    # A candidate out of the pool is never proposed; its outcomes stay.
    sa.Column("left_pool", sa.String(16)), sa.Column("left_at", sa.String(10)),
    sa.Column("extra", JSON),
    sa.Column("updated_at", sa.DateTime),
)

outcomes = sa.Table(
    "outcomes", metadata,
    sa.Column("siren", sa.String(9), primary_key=True),
    sa.Column("candidate_id", sa.String(74), primary_key=True),
    sa.Column("outcome", sa.String(12), primary_key=True),
    sa.Column("date", sa.String(10), primary_key=True, server_default=""),  # "" when unknown
    sa.Column("advisor", sa.Text), sa.Column("note", sa.Text),
    sa.Column("extra", JSON),
    sa.Column("recorded_at", sa.DateTime),
)

signals = sa.Table(
    "signals", metadata,
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("siren", sa.String(9), index=True), sa.Column("name", sa.Text),
    sa.Column("category", sa.String(24), nullable=False),
    sa.Column("procedure", sa.String(16)), sa.Column("actionable", sa.Boolean, nullable=False),
    sa.Column("judgment_date", sa.String(10)), sa.Column("publication_date", sa.String(10)),
    sa.Column("postal_code", sa.String(5)), sa.Column("activity", sa.Text),
    sa.Column("naf", sa.String(6)), sa.Column("reason", sa.Text),
    sa.Column("matched", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scanned_at", sa.DateTime),
)

matches = sa.Table(
    "matches", metadata,
    sa.Column("siren", sa.String(9), primary_key=True),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("candidate_id", sa.String(74), nullable=False),
    sa.Column("kind", sa.String(16)), sa.Column("name", sa.Text),
    sa.Column("score", sa.Float), sa.Column("distance_km", sa.Float),
    sa.Column("trade_link", sa.Boolean),  # None on rows stored before trade links were recorded
    sa.Column("explanation", JSON), sa.Column("model_id", sa.String(64)),
    sa.Column("created_at", sa.DateTime),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("poles", JSON), sa.Column("label", sa.Text),
    sa.Column("created_at", sa.DateTime), sa.Column("revoked_at", sa.DateTime),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.String(32), index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("siren", sa.String(9), index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(74)),  # a candidate id or a key id the action was on
)

meta = sa.Table(  # store-wide values: the pseudonym secret of erased records
    "store_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# People who sign in to the web application (advisors, analysts, admins); only a password hash
users = sa.Table(
    "users", metadata,
    sa.Column("user_id", sa.String(16), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("poles", JSON),
    sa.Column("created_at", sa.DateTime), sa.Column("password_set_at", sa.DateTime),
    sa.Column("disabled_at", sa.DateTime),
    sa.Column("last_seen_at", sa.DateTime),  # last dashboard view: what is "new" on the next visit
)

# Signed-in sessions: only the SHA-256 of the cookie's random token is stored
sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(16), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime),
    sa.Column("since", sa.DateTime),  # the user's previous visit when this session began
)

# Sign-in attempts, for rate limits shared by every server process
signin_attempts = sa.Table(
    "signin_attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("email", sa.String(254), index=True),
    sa.Column("address", sa.String(64), index=True),
    sa.Column("succeeded", sa.Boolean, nullable=False),
)

# What the candidate index is built from changed: one row per write, numbered in commit order. The
# highest number is the store's revision; an index built at revision R catches up by re-reading
# the candidates named by the rows after R (``scope`` "candidate"), reloading the poles
# ("poles"), or rebuilding entirely ("all": an import too large to list id by id).
index_changes = sa.Table(
    "index_changes", metadata,
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("candidate_id", sa.String(74)),
    sa.Column("at", sa.DateTime),
)
