"""Public constants of the sandbox: URL prefix and the demo credentials.

The credentials are deliberately public: the sandbox is a local emulator with fake data, and tests,
docs and the demo mode need to know them.
"""

from typing import Final

BASE_PATH: Final = "/api/v1"
V2_BASE_PATH: Final = "/api/v2"
CONTROL_PATH: Final = "/__sandbox__"

DEMO_PARTNER_TOKEN: Final = "sandbox-partner-token"  # noqa: S105 - public demo credential
DEMO_USER_TOKEN: Final = "sandbox-user-token-demo"  # noqa: S105 - public demo credential
DEMO_LOGIN: Final = "demo@altegio-sandbox.test"
DEMO_PASSWORD: Final = "sandbox-demo-password"  # noqa: S105 - public demo credential

SECOND_USER_TOKEN: Final = "sandbox-user-token-frontdesk"  # noqa: S105 - public demo credential
SECOND_LOGIN: Final = "+12125550199"
SECOND_PASSWORD: Final = "sandbox-frontdesk-password"  # noqa: S105 - public demo credential

NEW_YORK_LOCATION_ID: Final = 1001
DUBAI_LOCATION_ID: Final = 1002
LONDON_LOCATION_ID: Final = 1003
DEMO_USER_ID: Final = 9001
SECOND_USER_ID: Final = 9002
