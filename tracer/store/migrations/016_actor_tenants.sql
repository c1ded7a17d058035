-- Actors that a tenant's own label files name (a CSV's actor column, a STIX bundle's threat actors) are
-- that tenant's: other tenants neither list them nor open them. Actors of curated public registries
-- (GraphSense ActorPack, the scam-centre table) and of public files: 'public'.
ALTER TABLE actors ADD COLUMN tenant text NOT NULL DEFAULT 'public';
CREATE INDEX actors_tenant ON actors (tenant) WHERE tenant <> 'public';
