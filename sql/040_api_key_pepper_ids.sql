-- Rotating the server's secret (AUREN_SECRET, the old one kept in AUREN_PREVIOUS_SECRETS): each
-- key's hash records the id of the secret whose pepper made it, so it is verified under that
-- pepper and rehashed under the current one on its next use. Keys made before this file were
-- hashed under the secret of their time: null, tried under every secret the server has.

alter table api_keys add column pepper_id text;
