"""PyYAML's resolver, remembered: which tag a scalar's text implies.

Loading and dumping both ask the resolver for every scalar (dumping asks twice, to choose plain
or quoted). With no path resolvers, which the safe loaders and dumpers have none of, the answer
depends on the text and the two implicit flags alone, and manifests repeat most of their strings,
so it is worth remembering. Mixed in before a PyYAML Loader or Dumper class.
"""

from __future__ import annotations

import yaml

LIMIT = 200_000  # texts remembered at most (then forgotten all at once)


class RememberedTags:
    _scalar_tags: dict[tuple[str, tuple[bool, bool]], str]

    def __init_subclass__(cls, **kwargs):
        # One memory per class: a loader's and a dumper's resolvers need not imply the same tags.
        super().__init_subclass__(**kwargs)
        cls._scalar_tags = {}

    def resolve(self, kind, value, implicit):
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._scalar_tags.get(key)
        if tag is None:
            if len(self._scalar_tags) > LIMIT:
                self._scalar_tags.clear()
            tag = self._scalar_tags[key] = super().resolve(kind, value, implicit)
        return tag
