"""Small pieces the market shares across its apps."""
