"""Business rules: one function per operation. Resolvers and workers call these; nothing here
imports Strawberry."""
