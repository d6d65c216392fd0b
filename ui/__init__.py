"""Streamlit widgets shared by app.py and the pages. UI only: the logic lives in agent/ and evals/."""
