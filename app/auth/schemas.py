"""Pydantic shapes for the auth API."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


# --- account self-service (activation, password reset and change) ------------------------------


class ActivateRequest(BaseModel):
    """`token` from an activation link, or `nip` + `code` from a printed letter."""

    token: str | None = Field(default=None, max_length=128)
    nip: str | None = Field(default=None, max_length=32)
    code: str | None = Field(default=None, max_length=32)
    password: str = Field(max_length=256)
    accept_terms: bool = True
    email: str | None = Field(
        default=None, max_length=320, description="Confirmed or corrected; omit to keep"
    )
    phone: str | None = Field(
        default=None, max_length=32, description="WhatsApp; confirmed or corrected; omit to keep"
    )

    @model_validator(mode="after")
    def _token_or_code(self) -> Self:
        if not self.token and not (self.nip and self.code):
            raise ValueError("send `token`, or `nip` and `code`")
        return self


class PasswordResetRequest(BaseModel):
    login: str = Field(min_length=1, max_length=320, description="NIP or e-mail")


class PasswordResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=128)
    password: str = Field(max_length=256)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class Accepted(BaseModel):
    detail: str
