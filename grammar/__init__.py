"""fgir's Lark grammars, shipped as package data (``fgir.grammar``); see expressions.lark."""
