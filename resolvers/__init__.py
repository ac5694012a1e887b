"""Resolvers: parse input, check permission, call one operation in `services`, shape the payload.
One Query and one Mutation mixin per domain; `schema.build` composes them."""
