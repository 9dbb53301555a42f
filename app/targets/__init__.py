"""The agency's yearly targets: participation (90%) and JP compliance (20 JP), by OPD and funding."""
