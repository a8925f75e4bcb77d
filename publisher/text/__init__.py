"""One way to say things: dates, money and counts in words, and the one template environment."""
